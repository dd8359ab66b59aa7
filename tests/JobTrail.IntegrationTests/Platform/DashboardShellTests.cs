using System.Net;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>The dashboard's files: served without a key, from the repository's own files, under a strict policy.</summary>
public sealed class DashboardShellTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Theory]
    [InlineData("/ui")]
    [InlineData("/ui/activity")]
    [InlineData("/ui/jobs/01a22e5d-9d13-77ea-9011-2a978d305525")]
    [InlineData("/ui/audit/runner_job/01a22e5d-9d13-77ea-9011-2a978d305525")]
    public async Task Every_deep_link_answers_the_shell_under_a_strict_content_security_policy(string path)
    {
        var response = await fixture.AnonymousClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/ui/assets/app.js\"></script>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_scripts_are_served_without_a_key_and_load_nothing_from_elsewhere()
    {
        var client = fixture.AnonymousClient();
        foreach (var asset in new[] { "app.js", "api.js", "dom.js", "live.js", "pages/jobs.js", "pages/job.js", "pages/activity.js", "pages/audit.js", "app.css" })
        {
            var response = await client.GetAsync($"/ui/assets/{asset}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {(int)response.StatusCode}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("http://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("innerHTML", text, StringComparison.Ordinal);
            Assert.DoesNotContain("localStorage", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_api_keeps_its_own_policy()
    {
        var response = await fixture.Client().GetAsync("/api/runner-jobs");

        Assert.Equal("default-src 'none'; frame-ancestors 'none'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
    }
}
