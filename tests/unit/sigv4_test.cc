#include "aws/sigv4.h"

#include <gtest/gtest.h>

namespace rowcache {
namespace {

// AWS's published example for S3 "GET Object" with header-based SigV4.
TEST(SigV4, MatchesTheAwsGetObjectExample) {
  AwsCredentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  std::string empty = Sha256Hex("");
  EXPECT_EQ(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::map<std::string, std::string> h{{"host", "examplebucket.s3.amazonaws.com"},
                                       {"range", "bytes=0-9"},
                                       {"x-amz-content-sha256", empty},
                                       {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(SignV4(c, "us-east-1", "s3", "GET", "/test.txt", "", h, empty, "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, UriEncoding) {
  EXPECT_EQ(UriEncode("data/my file+1 é.csv", false), "data/my%20file%2B1%20%C3%A9.csv");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("AZaz09-_.~", true), "AZaz09-_.~");
}

}  // namespace
}  // namespace rowcache
