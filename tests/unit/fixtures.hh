// Loads tests/fixtures/frames.txt (written by make_frames.py).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ts::test {

struct Fixture {
  std::string name;
  std::string counter;  // the counter the endpoint must increment
  std::vector<uint8_t> bytes;
};

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  if (hex.size() % 2) throw std::runtime_error("odd hex length");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

inline std::vector<Fixture> load_fixtures() {
  const std::string path = std::string(TS_SOURCE_DIR) + "/tests/fixtures/frames.txt";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Fixture> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Fixture f;
    std::string hex;
    ls >> f.name >> f.counter >> hex;
    f.bytes = from_hex(hex);
    out.push_back(std::move(f));
  }
  return out;
}

inline const Fixture& fixture(const std::vector<Fixture>& all, const std::string& name) {
  for (const auto& f : all)
    if (f.name == name) return f;
  throw std::runtime_error("no fixture named " + name);
}

}  // namespace ts::test
