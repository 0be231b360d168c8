// Runs one TCP per-segment case N times, for instruction counting under
// callgrind (bench/callgrind-tcp runs it twice and takes the difference, so
// set-up cost cancels out).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tcp_cases.hh"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tcp-instructions receive|ack|build|syncookie COUNT\n");
    return 2;
  }
  const std::string which = argv[1];
  const long n = std::strtol(argv[2], nullptr, 10);
  if (which == "receive") {
    ts::bench::ReceiveCase c;
    for (long i = 0; i < n; ++i) c.step();
  } else if (which == "ack") {
    ts::bench::AckCase c;
    for (long i = 0; i < n; ++i) c.step();
  } else if (which == "build") {
    ts::bench::BuildCase c;
    for (long i = 0; i < n; ++i) c.step();
  } else if (which == "syncookie") {
    ts::bench::SynCookieCase c;
    for (long i = 0; i < n; ++i) c.step();
  } else {
    std::fprintf(stderr, "unknown case %s\n", which.c_str());
    return 2;
  }
  return 0;
}
