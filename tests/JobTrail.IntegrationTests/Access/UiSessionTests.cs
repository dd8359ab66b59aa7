using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Access;

/// <summary>The dashboard's session: the key is posted once, then an HttpOnly cookie (and a CSRF token for writes) stands in for it.</summary>
public sealed class UiSessionTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Signing_in_answers_an_http_only_strict_cookie_and_the_session_scopes_and_csrf_token()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "events:read");

        var (cookie, setCookie, body) = await SignInAsync(tenant.Key);

        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(tenant.Key, setCookie, StringComparison.Ordinal);
        Assert.Equal(["events:read", "jobs:read"], body.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(tenant.WorkspaceId, body.GetProperty("workspaceId").GetGuid());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("csrfToken").GetString()));

        var session = await SendAsync(HttpMethod.Get, "/api/ui/session", cookie);
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        var again = await session.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(body.GetProperty("csrfToken").GetString(), again.GetProperty("csrfToken").GetString());
    }

    [Theory]
    [InlineData("select count(*) from access.ui_sessions")]
    [InlineData("update access.ui_sessions set expires_at = now() + interval '10 years'")]
    [InlineData("insert into access.ui_sessions (id_hash, workspace_id, api_key_id, created_at, expires_at) select id_hash, workspace_id, api_key_id, created_at, expires_at from access.ui_sessions")]
    public async Task The_service_role_cannot_touch_the_session_table_except_through_its_functions(string sql)
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        await SignInAsync(tenant.Key);

        // Outside row-level security like the key directory, so no privilege at all: 42501 with any workspace set.
        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            fixture.QueryAsServiceAsync(sql, tenant.WorkspaceId.ToString(), r => r.GetValue(0)));
        Assert.Equal("42501", error.SqlState);
    }

    [Fact]
    public async Task The_cookie_authenticates_with_the_key_scopes_and_no_more()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        var (cookie, _, body) = await SignInAsync(tenant.Key);
        var csrf = body.GetProperty("csrfToken").GetString()!;

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/runner-jobs", cookie)).StatusCode);
        var write = await SendAsync(HttpMethod.Post, "/api/runner-jobs", cookie, csrf, new { type = "ci", name = "x" });
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.Equal("missing_scope", (await write.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_state_changing_request_with_the_cookie_needs_the_csrf_token()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (cookie, _, body) = await SignInAsync(tenant.Key);
        var csrf = body.GetProperty("csrfToken").GetString()!;

        var without = await SendAsync(HttpMethod.Post, "/api/runner-jobs", cookie, null, new { type = "ci", name = "no-token" });
        var wrong = await SendAsync(HttpMethod.Post, "/api/runner-jobs", cookie, csrf[..^2] + "xx", new { type = "ci", name = "bad-token" });
        var with = await SendAsync(HttpMethod.Post, "/api/runner-jobs", cookie, csrf, new { type = "ci", name = "with-token" });

        Assert.Equal(HttpStatusCode.Forbidden, without.StatusCode);
        Assert.Equal("application/problem+json", without.Content.Headers.ContentType?.MediaType);
        Assert.Equal("csrf_token", (await without.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Created, with.StatusCode);
        var names = (await tenant.Client.GetJsonAsync("/api/runner-jobs")).Json.GetProperty("items").EnumerateArray().Select(j => j.Str("name")).ToList();
        Assert.Equal(["with-token"], names);
    }

    [Fact]
    public async Task Signing_out_ends_the_session_and_the_old_cookie_gets_401()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (cookie, _, body) = await SignInAsync(tenant.Key);
        var csrf = body.GetProperty("csrfToken").GetString()!;

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Delete, "/api/ui/session", cookie)).StatusCode);
        var signOut = await SendAsync(HttpMethod.Delete, "/api/ui/session", cookie, csrf);
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        Assert.Contains(signOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith("jt_session=;", StringComparison.Ordinal));

        var after = await SendAsync(HttpMethod.Get, "/api/runner-jobs", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("unauthorized", (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal(0L, await fixture.ScalarAsOwnerAsync<long>(
            "select count(*) from access.ui_sessions where ended_at is null and workspace_id = '" + tenant.WorkspaceId + "'"));
    }

    [Fact]
    public async Task Revoking_the_key_ends_its_sessions_at_once()
    {
        var tenant = await fixture.CreateTenantAsync();
        var reader = await fixture.CreateKeyAsync(tenant.WorkspaceId, "user:viewer", ["jobs:read"], tenant.Key);
        var (cookie, _, _) = await SignInAsync(reader);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/runner-jobs", cookie)).StatusCode);
        var keyId = (await tenant.Client.GetJsonAsync($"/api/workspaces/{tenant.WorkspaceId}/api-keys")).Json.GetProperty("items")
            .EnumerateArray().Single(k => k.Str("actorId") == "user:viewer").Id();

        (await tenant.Client.DeleteAsync2($"/api/workspaces/{tenant.WorkspaceId}/api-keys/{keyId}")).EnsureStatus(204);

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/runner-jobs", cookie)).StatusCode);
    }

    [Fact]
    public async Task The_database_keeps_only_a_hash_of_the_session_id()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (cookie, _, _) = await SignInAsync(tenant.Key);
        var id = cookie["jt_session=".Length..];

        var stored = await fixture.ScalarAsOwnerAsync<long>(
            $"select count(*) from access.ui_sessions where workspace_id = '{tenant.WorkspaceId}' and position(convert_to('{id}', 'UTF8') in id_hash) = 0");
        Assert.Equal(1L, stored);
        // Another session id: its last character changed (to one it is not, or 1 run in 64 would send the same id).
        var other = id[..^1] + (id[^1] == 'A' ? "B" : "A");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/runner-jobs", "jt_session=" + other)).StatusCode);
    }

    [Fact]
    public async Task A_bearer_key_needs_no_csrf_token_even_with_a_cookie_present()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (cookie, _, _) = await SignInAsync(tenant.Key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runner-jobs") { Content = JsonContent.Create(new { type = "ci", name = "bearer" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.Key);
        request.Headers.Add("Cookie", cookie);

        var response = await fixture.AnonymousClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Signing_in_with_a_bad_key_gets_401_and_no_cookie()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ui/session");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "jt_nope");
        var response = await fixture.AnonymousClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_session_cannot_start_another_session()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (cookie, _, body) = await SignInAsync(tenant.Key);

        var response = await SendAsync(HttpMethod.Post, "/api/ui/session", cookie, body.GetProperty("csrfToken").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private async Task<(string Cookie, string SetCookie, JsonElement Body)> SignInAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ui/session");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await fixture.AnonymousClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        return (setCookie.Split(';')[0], setCookie, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string cookie, string? csrf = null, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        if (csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var response = await fixture.AnonymousClient().SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
