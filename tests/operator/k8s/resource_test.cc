#include "featureforge/k8s/resource.h"

#include <gtest/gtest.h>

#include "featureforge/k8s/client.h"

namespace featureforge::k8s {
namespace {

TEST(ResourceTest, Paths) {
  EXPECT_EQ(resources::Pods().ObjectPath("ns", "p"), "/api/v1/namespaces/ns/pods/p");
  EXPECT_EQ(resources::Pods().CollectionPath(""), "/api/v1/pods");
  EXPECT_EQ(resources::Deployments().CollectionPath("a"), "/apis/apps/v1/namespaces/a/deployments");
  EXPECT_EQ(resources::Namespaces().ObjectPath("ignored", "n"), "/api/v1/namespaces/n");
  EXPECT_EQ(resources::Leases().ApiVersion(), "coordination.k8s.io/v1");
  EXPECT_EQ(resources::Deployments().QualifiedName(), "deployments.apps");
}

TEST(ResourceTest, BuiltinLookupAndKeys) {
  auto mj = FindBuiltin("featureforge.dev/v1alpha1", "MaterializationJob");
  ASSERT_TRUE(mj.has_value());
  EXPECT_EQ(mj->resource, "materializationjobs");
  EXPECT_FALSE(FindBuiltin("v1", "Deployment").has_value());
  EXPECT_EQ(ObjectKey::Parse("a/b"), (ObjectKey{"a", "b"}));
  EXPECT_EQ(ObjectKey::Parse("n").ToString(), "n");
  EXPECT_EQ(ObjectKey::Of(Json::parse(R"({"metadata":{"name":"x","namespace":"y"}})")).ToString(),
            "y/x");
}

TEST(ResourceTest, ParseDiscovery) {
  Json list = Json::parse(R"({"kind":"APIResourceList","groupVersion":"example.com/v1",
    "resources":[{"name":"widgets","kind":"Widget","namespaced":true},
                 {"name":"widgets/status","kind":"Widget","namespaced":true},
                 {"name":"gadgets","kind":"Gadget","namespaced":false}]})");
  auto types = ParseApiResourceList(list);
  ASSERT_TRUE(types.ok());
  ASSERT_EQ(types->size(), 2u);
  EXPECT_EQ((*types)[0].group, "example.com");
  EXPECT_EQ((*types)[1].namespaced, false);
  EXPECT_EQ((*types)[1].CollectionPath("x"), "/apis/example.com/v1/gadgets");
}

TEST(ResourceTest, UrlEncode) { EXPECT_EQ(UrlEncode("app=x,tier!=db"), "app%3Dx%2Ctier%21%3Ddb"); }

}  // namespace
}  // namespace featureforge::k8s
