// The HTTP/1.1 subset of the http server and generator (RFC 9112).
#include <gtest/gtest.h>

#include "workload/http.hh"

using namespace ts::workload;

TEST(Http, HeaderEndIsFoundWithCrlfOrBareLf) {
  HttpRequest q;
  EXPECT_EQ(scan_request("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", q).end, 27u);
  EXPECT_EQ(scan_request("GET / HTTP/1.1\nHost: a\n\nrest", q).end, 24u);
  EXPECT_EQ(scan_request("GET / HTTP/1.1\nHost: a\n\r\nrest", q).end, 25u);
  EXPECT_EQ(scan_request("GET / HTTP/1.1\r\nHost: a\r\n", q).end, 0u);
  EXPECT_EQ(scan_request("GET / HTTP/1.1\r\nHost: a\r\n\r", q).end, 0u);
  EXPECT_EQ(scan_request("", q).end, 0u);
  HttpResponse r;
  EXPECT_EQ(scan_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", r).end, 38u);
  EXPECT_EQ(scan_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", r).end, 0u);
  // A line of a lone CR is not an empty line.
  EXPECT_EQ(scan_response("HTTP/1.1 200 OK\r\n\r\r\n\r\n", r).end, 22u);
}

TEST(Http, EmptyLinesBeforeARequestAreSkippedAndCounted) {
  // RFC 9112 2.2; the end counts them, so that a caller consumes them too.
  HttpRequest q;
  const HeadScan s = scan_request("\r\n\nGET /x HTTP/1.1\r\n\r\n", q);
  EXPECT_EQ(s.end, 22u);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(q.target, "/x");
  EXPECT_EQ(scan_request("\r\n\r\n", q).end, 0u);  // still waiting for the request
  // Not before a response: its first line must be the status line.
  HttpResponse r;
  const HeadScan t = scan_response("\r\nHTTP/1.1 200 OK\r\n\r\n", r);
  EXPECT_EQ(t.end, 21u);
  EXPECT_FALSE(t.ok);
  const HeadScan u = scan_response("\r\n\r\n", r);
  EXPECT_EQ(u.end, 4u);
  EXPECT_FALSE(u.ok);
}

TEST(Http, AMalformedBlockIsWaitedForToItsEnd) {
  // A bad line early does not end the block: the caller sees the whole
  // block (or waits for it) as it would for a good one.
  HttpRequest q;
  EXPECT_EQ(scan_request("GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n", q).end, 0u);
  const HeadScan s = scan_request("GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\nnext", q);
  EXPECT_EQ(s.end, 36u);
  EXPECT_FALSE(s.ok);
  const HeadScan t = scan_request("BAD\r\nHost: a\r\n\r\n", q);
  EXPECT_EQ(t.end, 16u);
  EXPECT_FALSE(t.ok);
}

TEST(Http, HeaderNamesMatchInAnyCaseAndOnlyThemselves) {
  HttpRequest q;
  for (const char* name : {"Content-Length", "content-length", "CONTENT-LENGTH", "cOnTeNt-LeNgTh"}) {
    const std::string req = std::string("POST / HTTP/1.1\r\n") + name + ": 7\r\n\r\n";
    ASSERT_TRUE(parse_request(req, q)) << name;
    EXPECT_EQ(q.content_length, 7u) << name;
  }
  // Names of the same length that are not Content-Length: other headers,
  // whatever their value. A CR ORed with 0x20 would be a '-'.
  for (const char* name : {"Content_Length", "Content\rLength", "Content-Lengtx", "Content-Length "}) {
    const std::string req = std::string("GET / HTTP/1.1\r\n") + name + ":x\r\n\r\n";
    const HeadScan s = scan_request(req, q);
    EXPECT_NE(s.end, 0u) << name;
    // A space before the colon is malformed; the others are unknown headers.
    EXPECT_EQ(s.ok, name[14] != ' ') << name;
    if (s.ok) {
      EXPECT_EQ(q.content_length, 0u) << name;
    }
  }
  // The 17-byte name is read as three overlapping words.
  HttpResponse r;
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n", r));
  EXPECT_TRUE(r.chunked);
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encodinx: chunked\r\n\r\n", r));
  EXPECT_FALSE(r.chunked);
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nCONNECTION: Close\r\nContent-Length: 0\r\n\r\n", r));
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(r.has_length);
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nConnectiox: close\r\n\r\n", r));
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.has_length);
}

TEST(Http, RequestLineAndKeepAliveRules) {
  HttpRequest r;
  ASSERT_TRUE(parse_request("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n", r));
  EXPECT_EQ(r.method, Method::get);
  EXPECT_EQ(r.target, "/a?b");
  EXPECT_TRUE(r.keep_alive);
  ASSERT_TRUE(parse_request("HEAD / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", r));
  EXPECT_EQ(r.method, Method::head);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_TRUE(parse_request("GET / HTTP/1.0\r\n\r\n", r));
  EXPECT_FALSE(r.keep_alive);
  ASSERT_TRUE(parse_request("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", r));
  EXPECT_TRUE(r.keep_alive);
  ASSERT_TRUE(parse_request("POST /x HTTP/1.1\r\nContent-Length: 12\r\n\r\n", r));
  EXPECT_EQ(r.method, Method::post);
  EXPECT_TRUE(r.has_body);
  EXPECT_EQ(r.content_length, 12u);
  ASSERT_TRUE(parse_request("DELETE /x HTTP/1.1\r\n\r\n", r));
  EXPECT_EQ(r.method, Method::other);
}

TEST(Http, MalformedRequestsAreRefused) {
  HttpRequest r;
  for (const char* bad : {"GET\r\n\r\n", "GET / \r\n\r\n", "GET / HTTP/2.0\r\n\r\n",
                          "get / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"})
    EXPECT_FALSE(parse_request(bad, r)) << bad;
}

TEST(Http, Responses) {
  HttpResponse r;
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.has_length);
  EXPECT_EQ(r.content_length, 42u);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_TRUE(parse_response("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n", r));
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.has_length);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_TRUE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", r));
  EXPECT_TRUE(r.chunked);
  EXPECT_FALSE(parse_response("HTTP/1.1 20 OK\r\n\r\n", r));
  EXPECT_FALSE(parse_response("HTTX/1.1 200 OK\r\n\r\n", r));
}

TEST(Http, TargetsMapToSafePaths) {
  char out[64];
  EXPECT_EQ(target_to_path("/a/b.html?x=1", out, sizeof out), 9);
  EXPECT_STREQ(out, "/a/b.html");
  EXPECT_EQ(target_to_path("/with%20space", out, sizeof out), 11);
  EXPECT_STREQ(out, "/with space");
  EXPECT_EQ(target_to_path("/../etc/passwd", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/a/%2e%2e/b", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/a/..", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/a%00b", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/a%4", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("relative", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("http://host/x", out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/" + std::string(100, 'a'), out, sizeof out), -1);
  EXPECT_EQ(target_to_path("/a..b/c", out, sizeof out), 7);  // not a ".." segment
}

TEST(Http, ContentTypes) {
  EXPECT_EQ(content_type_for("/x/index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("/a.png"), "image/png");
  EXPECT_EQ(content_type_for("/dir.d/file"), "application/octet-stream");
  EXPECT_EQ(content_type_for("/file.unknown"), "application/octet-stream");
}
