#include "featureforge/k8s/watch_decoder.h"

#include <gtest/gtest.h>

namespace featureforge::k8s {
namespace {

const std::string kTwoEvents =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"}{\"x"}}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}})"
    "\n";

TEST(WatchDecoderTest, WholeStream) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(kTwoEvents, &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[0].object["data"]["k"], "}{\"x");
  EXPECT_EQ(events[1].type, "BOOKMARK");
  EXPECT_TRUE(decoder.Finish().ok());
}

TEST(WatchDecoderTest, EverySplitPointGivesTheSameEvents) {
  for (size_t split = 0; split <= kTwoEvents.size(); ++split) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    ASSERT_TRUE(decoder.Feed(kTwoEvents.substr(0, split), &events).ok());
    ASSERT_TRUE(decoder.Feed(kTwoEvents.substr(split), &events).ok());
    ASSERT_EQ(events.size(), 2u) << split;
    EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "7");
    EXPECT_TRUE(decoder.Finish().ok());
  }
}

TEST(WatchDecoderTest, ByteByByteAndWithoutNewlines) {
  std::string stream =
      R"({"type":"ADDED","object":{"a":[1,{"b":"]"}]}}{"type":"DELETED","object":{}})";
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  for (char c : stream) ASSERT_TRUE(decoder.Feed(std::string_view(&c, 1), &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "DELETED");
}

TEST(WatchDecoderTest, StreamCutMidObjectIsAnError) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(kTwoEvents.substr(0, kTwoEvents.size() - 20), &events).ok());
  EXPECT_EQ(events.size(), 1u);
  Status finished = decoder.Finish();
  EXPECT_FALSE(finished.ok());
  EXPECT_NE(finished.message().find("cut mid-object"), std::string::npos);
}

TEST(WatchDecoderTest, GarbageIsAnError) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  EXPECT_FALSE(decoder.Feed("<html>", &events).ok());
  WatchDecoder no_type;
  EXPECT_FALSE(no_type.Feed(R"({"object":{}})", &events).ok());
}

}  // namespace
}  // namespace featureforge::k8s
