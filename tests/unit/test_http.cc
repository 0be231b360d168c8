// The HTTP/1.1 subset of the http server and generator (RFC 9112).
#include <gtest/gtest.h>

#include "workload/http.hh"

using namespace ts::workload;

TEST(Http, HeaderEndIsFoundWithCrlfOrBareLf) {
  EXPECT_EQ(find_header_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), 27u);
  EXPECT_EQ(find_header_end("GET / HTTP/1.1\nHost: a\n\nrest"), 24u);
  EXPECT_EQ(find_header_end("GET / HTTP/1.1\r\nHost: a\r\n"), 0u);
  EXPECT_EQ(find_header_end(""), 0u);
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
