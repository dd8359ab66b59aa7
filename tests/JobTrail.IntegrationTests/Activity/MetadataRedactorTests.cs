using System.Text.Json.Nodes;
using JobTrail.Modules.Activity.Domain;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>The redaction rule on its own (no host): which keys count as secret, and what is kept.</summary>
public sealed class MetadataRedactorTests
{
    [Theory]
    [InlineData("password")]
    [InlineData("Password")]
    [InlineData("PASSWORD")]
    [InlineData("userPassword")]
    [InlineData("user_password")]
    [InlineData("userpassword")]
    [InlineData("passwd")]
    [InlineData("secret")]
    [InlineData("clientSecret")]
    [InlineData("client_secret")]
    [InlineData("token")]
    [InlineData("tokens")]
    [InlineData("accessToken")]
    [InlineData("access_token")]
    [InlineData("refresh-token")]
    [InlineData("id_token")]
    [InlineData("X-Auth-Token")]
    [InlineData("api_key")]
    [InlineData("apiKey")]
    [InlineData("APIKey")]
    [InlineData("ApiKeys")]
    [InlineData("x-api-key")]
    [InlineData("apikey")]
    [InlineData("XAPIKEY")]
    [InlineData("authorization")]
    [InlineData("Proxy-Authorization")]
    [InlineData("cookie")]
    [InlineData("Set-Cookie")]
    [InlineData("cookies")]
    [InlineData("credential")]
    [InlineData("credentials")]
    [InlineData("private_key")]
    [InlineData("privateKey")]
    [InlineData("PRIVATE_KEY_PEM")]
    [InlineData("aws_secret_access_key")]
    [InlineData("aws_access_key_id")]
    [InlineData("session_id")]
    [InlineData("sessionId")]
    [InlineData("jwt")]
    [InlineData("signing-key")]
    public void Keys_that_look_secret_are_secret(string key) => Assert.True(MetadataRedactor.IsSecretKey(key), key);

    [Theory]
    [InlineData("input")]
    [InlineData("output")]
    [InlineData("name")]
    [InlineData("jobId")]
    [InlineData("keyActorId")]
    [InlineData("scopes")]
    [InlineData("method")]
    [InlineData("author")]
    [InlineData("monkey")]
    [InlineData("keyboard")]
    [InlineData("to")]
    [InlineData("tokensInput")]
    [InlineData("tokens_output")]
    [InlineData("prompt_tokens")]
    [InlineData("completion_tokens")]
    [InlineData("maxTokens")]
    [InlineData("token_count")]
    public void Ordinary_keys_and_token_counts_are_not_secret(string key) => Assert.False(MetadataRedactor.IsSecretKey(key), key);

    [Fact]
    public void A_token_count_is_kept_only_while_it_is_a_number()
    {
        var redacted = MetadataRedactor.Redact(new JsonObject
        {
            ["tokensInput"] = 1200,
            ["tokensOutput"] = null,
            ["token_count"] = "ghp_notacount",
            ["maxTokens"] = new JsonObject { ["value"] = "x" },
        });

        Assert.Equal(1200, redacted["tokensInput"]!.GetValue<int>());
        Assert.Null(redacted["tokensOutput"]);
        Assert.Equal(MetadataRedactor.Redacted, redacted["token_count"]!.GetValue<string>());
        Assert.Equal(MetadataRedactor.Redacted, redacted["maxTokens"]!.GetValue<string>());
    }

    [Fact]
    public void Secrets_are_found_at_any_depth_and_inside_arrays()
    {
        var redacted = MetadataRedactor.Redact(JsonNode.Parse("""
            {"a":{"b":[{"c":{"d":[[{"password":"p1"}]]}}],"e":"kept"},"auth":{"secret":{"deeper":"s1"}}}
            """)!.AsObject());

        Assert.Equal("""{"a":{"b":[{"c":{"d":[[{"password":"[REDACTED]"}]]}}],"e":"kept"},"auth":{"secret":"[REDACTED]"}}""", redacted.ToJsonString());
    }

    [Fact]
    public void Credentials_inside_free_text_are_replaced_whatever_the_key()
    {
        var redacted = MetadataRedactor.Redact(new JsonObject
        {
            ["note"] = "used jt_0123456789abcdef0123456789abcdef_s3cr3ts3cr3ts3cr3t and bearer abc.def.ghi-123",
            ["list"] = new JsonArray("Basic dXNlcjpwYXNzd29yZA==", "fine"),
        });

        Assert.Equal("used [REDACTED] and bearer [REDACTED]", redacted["note"]!.GetValue<string>());
        Assert.Equal("Basic [REDACTED]", redacted["list"]![0]!.GetValue<string>());
        Assert.Equal("fine", redacted["list"]![1]!.GetValue<string>());
    }

    [Fact]
    public void Captured_metadata_is_redacted_and_long_strings_are_cut()
    {
        var stored = ActivityMetadata.FromCaptured(new Dictionary<string, object?>
        {
            ["name"] = new string('n', 5000),
            ["apiKey"] = "ak-123",
            ["scopes"] = new[] { "jobs:read" },
            ["jobId"] = Guid.Empty,
            ["input"] = 5L,
        });

        var json = JsonNode.Parse(stored!)!.AsObject();
        Assert.Equal(ActivityMetadata.MaxCapturedStringLength + 1, json["name"]!.GetValue<string>().Length);
        Assert.Equal(MetadataRedactor.Redacted, json["apiKey"]!.GetValue<string>());
        Assert.Equal("jobs:read", json["scopes"]![0]!.GetValue<string>());
        Assert.Equal(Guid.Empty.ToString(), json["jobId"]!.GetValue<string>());
        Assert.Equal(5, json["input"]!.GetValue<long>());
    }
}
