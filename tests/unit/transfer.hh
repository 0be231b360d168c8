// A transfer between two stacks for the tests of the data path's offloads
// (receive coalescing, segmentation offload): the client sends patterned
// bytes (byte i is i % 251) to the server's port 80; both poll in turn every
// 20 us, as two cores would, and the server checks every byte.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "stack/stack.hh"
#include "tcp/connection.hh"

namespace ts::test {

struct PatternTransfer : tcp::Events, stack::Acceptor {
  tcp::Events* on_accept(const tcp::FourTuple&) override { return this; }
  void on_readable(tcp::Connection& c) override {
    const tcp::Bytes2 r = c.readable();
    for (auto part : {r.a, r.b})
      for (uint8_t b : part) intact &= b == uint8_t(received++ % 251);
    c.consume(r.size(), now);
  }

  // Sends `total` bytes from `client` to `server` and polls until they have
  // arrived (or a bound on the rounds); returns the client's connection.
  tcp::Connection* send_all(stack::Stack& client, stack::Stack& server, size_t total) {
    EXPECT_TRUE(server.tcp().listen(80, this));
    tcp::Connection* c = client.tcp().connect(server.config().addr.addr, 80, &quiet_, now);
    EXPECT_NE(c, nullptr);
    if (!c) return nullptr;
    std::vector<uint8_t> chunk(16384);
    size_t sent = 0;
    for (int i = 0; i < 200000 && received < total; ++i) {
      now += 20'000;
      while (sent < total) {
        const size_t n = std::min(chunk.size(), total - sent);
        for (size_t k = 0; k < n; ++k) chunk[k] = uint8_t((sent + k) % 251);
        const size_t took = c->send({chunk.data(), n}, now);
        sent += took;
        if (took < n) break;
      }
      client.poll(now);
      server.poll(now);
    }
    return c;
  }

  uint64_t now = 1'000'000'000;
  size_t received = 0;
  bool intact = true;

 private:
  tcp::Events quiet_;
};

}  // namespace ts::test
