#include "sim/trace.hh"

#include <cstring>

#include "wire/ethernet.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace ts::sim {

namespace {

void put32(std::FILE* f, uint32_t v) { std::fwrite(&v, 4, 1, f); }
void put16(std::FILE* f, uint16_t v) { std::fwrite(&v, 2, 1, f); }

}  // namespace

TraceWriter::TraceWriter(const std::string& prefix)
    : pcap_(std::fopen((prefix + ".pcap").c_str(), "wb")),
      text_(std::fopen((prefix + ".txt").c_str(), "w")) {
  if (pcap_) {
    // The pcap file header, nanosecond variant, in host byte order (readers
    // tell the order from the magic number).
    put32(pcap_, 0xa1b23c4d);
    put16(pcap_, 2);
    put16(pcap_, 4);
    put32(pcap_, 0);       // time zone
    put32(pcap_, 0);       // accuracy
    put32(pcap_, 65535);   // snapshot length
    put32(pcap_, 1);       // LINKTYPE_ETHERNET
  }
  if (text_)
    std::fprintf(text_, "# virtual time (ms), link, what the link did, the frame\n");
}

TraceWriter::~TraceWriter() {
  if (pcap_) std::fclose(pcap_);
  if (text_) std::fclose(text_);
}

void TraceWriter::on_link(const std::string& link, LinkEvent e, uint64_t at,
                          std::span<const uint8_t> frame) {
  ++frames_;
  if (pcap_) {
    put32(pcap_, uint32_t(at / 1'000'000'000));
    put32(pcap_, uint32_t(at % 1'000'000'000));
    put32(pcap_, uint32_t(frame.size()));
    put32(pcap_, uint32_t(frame.size()));
    std::fwrite(frame.data(), 1, frame.size(), pcap_);
  }
  if (text_)
    std::fprintf(text_, "%14.6f %-22s %-10s %s\n", double(at) / 1e6, link.c_str(),
                 link_event_name(e), describe_frame(frame).c_str());
}

std::string describe_frame(std::span<const uint8_t> frame) {
  wire::EthernetRepr eth;
  if (wire::EthernetRepr::parse(frame, eth) != wire::Error::ok) return "(not Ethernet)";
  if (eth.ethertype == wire::ethertype::arp) return "ARP";
  if (eth.ethertype != wire::ethertype::ipv4) return "ethertype " + std::to_string(eth.ethertype);
  wire::Ipv4View v(frame.subspan(eth.header_len()));
  wire::Ipv4Repr ip;
  // Checksums are not verified: a corrupted frame is described as it is.
  if (v.check() != wire::Error::ok ||
      wire::Ipv4Repr::parse(v, ip, wire::CsumCheck::trust) != wire::Error::ok)
    return "(bad IPv4)";
  const std::string s = ip.src.str() + " > " + ip.dst.str();
  if (ip.protocol != wire::ipproto::tcp) return s + " protocol " + std::to_string(ip.protocol);
  wire::TcpRepr t;
  if (wire::TcpRepr::parse(wire::TcpView(v.payload()), ip.src, ip.dst, t,
                           wire::CsumCheck::trust) != wire::Error::ok)
    return s + " (bad TCP)";
  char flags[8] = {};
  size_t n = 0;
  if (t.flags & wire::tcpflag::syn) flags[n++] = 'S';
  if (t.flags & wire::tcpflag::fin) flags[n++] = 'F';
  if (t.flags & wire::tcpflag::rst) flags[n++] = 'R';
  if (t.flags & wire::tcpflag::psh) flags[n++] = 'P';
  if (t.flags & wire::tcpflag::ack) flags[n++] = '.';
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s:%u > %s:%u [%s] seq %u ack %u win %u len %zu%s",
                ip.src.str().c_str(), unsigned(t.src_port), ip.dst.str().c_str(),
                unsigned(t.dst_port), flags, t.seq, t.ack, unsigned(t.window), t.payload.size(),
                t.options.sack_count ? " sack" : "");
  return buf;
}

}  // namespace ts::sim
