using System.Net;
using System.Text.RegularExpressions;
using JobTrail.UiTests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace JobTrail.UiTests;

public sealed partial class DashboardTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Signing_in_keeps_only_an_http_only_strict_cookie_and_never_the_key()
    {
        var (_, key) = await fixture.TenantAsync();
        var page = await fixture.PageAsync();

        await DashboardFixture.SignInAsync(page, key);

        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "jt_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(key, cookie.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(key, page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        var stored = await page.EvaluateAsync<string>("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])");
        Assert.DoesNotContain(key, stored, StringComparison.Ordinal);
        Assert.Equal("[[],[],\"\"]", stored);
    }

    [Fact]
    public async Task A_job_created_through_the_api_appears_on_the_jobs_page_without_a_reload()
    {
        var (_, key) = await fixture.TenantAsync();
        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        await Expect(page.Locator("#live-state")).ToHaveTextAsync("Live: live");
        var navigations = 0;
        page.FrameNavigated += (_, _) => navigations++;

        using var api = fixture.Api(key);
        var job = await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "appears-live" });

        var row = page.Locator($"tr[data-job-id='{job.GetProperty("id").GetGuid()}']");
        await Expect(row).ToContainTextAsync("appears-live");
        await Expect(row).ToContainTextAsync("PENDING");
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{job.GetProperty("id").GetGuid()}/status", new { status = "RUNNING" });
        await Expect(row).ToContainTextAsync("RUNNING");
        Assert.Equal(0, navigations);
    }

    [Fact]
    public async Task An_event_emitted_through_the_api_appears_on_the_job_page_within_two_seconds()
    {
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "tail-me" })).GetProperty("id").GetGuid();
        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        await page.GotoAsync($"/ui/jobs/{jobId}");
        await Expect(page.Locator("#event-log .row[data-seq='1']")).ToBeVisibleAsync();

        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/events", new { type = "step.output", payload = new { line = "hello from the runner" } });

        var row = page.Locator("#event-log .row[data-seq='2']");
        await Expect(row).ToContainTextAsync("hello from the runner", new() { Timeout = 2000 });
    }

    [Fact]
    public async Task Steps_show_their_phase_and_durations()
    {
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "agent", name = "steps" })).GetProperty("id").GetGuid();
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/status", new { status = "RUNNING" });
        var checkout = (await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps", new { name = "checkout", phase = "SETUP", type = "COMMAND" })).GetProperty("id").GetGuid();
        var think = (await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps", new { name = "think", phase = "EXECUTION", type = "AI_ACTION" })).GetProperty("id").GetGuid();
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{checkout}/status", new { status = "RUNNING" });
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{checkout}/status", new { status = "COMPLETED" });
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{think}/status", new { status = "RUNNING" });
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{think}/tokens", new { input = 1200, output = 345 });

        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        await page.GotoAsync($"/ui/jobs/{jobId}");

        var steps = page.Locator("#steps");
        await Expect(steps).ToContainTextAsync("SETUP");
        await Expect(steps).ToContainTextAsync("EXECUTION");
        await Expect(page.Locator($".step-duration[data-step-id='{checkout}']")).ToHaveTextAsync(DurationText());
        await Expect(page.Locator($".step-duration[data-step-id='{think}']")).ToHaveTextAsync(DurationText());
        await Expect(steps).ToContainTextAsync("tokens in 1200 · out 345");
        await Expect(steps.Locator(".bar")).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task A_dropped_event_stream_resumes_with_no_gap_and_no_duplicate()
    {
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "resume" })).GetProperty("id").GetGuid();
        var page = await fixture.PageAsync();
        var opened = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/api/runner-jobs/{jobId}/events/stream", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref opened);
            }
        };
        await DashboardFixture.SignInAsync(page, key);
        await page.GotoAsync($"/ui/jobs/{jobId}");
        await Expect(page.Locator("#event-log .row[data-seq='1']")).ToBeVisibleAsync();

        // The host ends every stream after 3 s: keep emitting until the page has reconnected twice.
        var emitted = 1;
        while (Volatile.Read(ref opened) < 3)
        {
            await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/events", new { type = "step.output", payload = new { n = emitted } });
            emitted++;
            await Expect(page.Locator($"#event-log .row[data-seq='{emitted}']")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        }

        await Expect(page.Locator("#log-page")).ToContainTextAsync($"{emitted} of {emitted} events");
        var seqs = await page.Locator("#event-log .row").EvaluateAllAsync<long[]>("rows => rows.map(r => Number(r.dataset.seq))");
        Assert.Equal(Enumerable.Range(1, emitted).Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task Verify_shows_valid_then_invalid_after_an_event_row_is_tampered_with()
    {
        var (workspaceId, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "verify" })).GetProperty("id").GetGuid();
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/events", new { type = "step.output", payload = new { line = "original" } });
        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        await page.GotoAsync($"/ui/jobs/{jobId}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Verify chain" }).ClickAsync();
        await Expect(page.Locator("#verify-state")).ToHaveTextAsync("valid");

        await fixture.TamperAsync(workspaceId, "job_events.events", "events_append_only",
            "update job_events.events set payload = '{\"line\": \"forged\"}' where job_id = $1 and seq = 2", jobId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify chain" }).ClickAsync();

        await Expect(page.Locator("#verify-state")).ToHaveTextAsync("invalid");
        await Expect(page.Locator("#verify-result")).ToContainTextAsync("first bad seq 2");
    }

    [Fact]
    public async Task The_audit_viewer_filters_by_action_prefix_and_outcome()
    {
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "audited" });
        await DashboardFixture.PostAsync(api, "/api/activity", new { action = "deploy.started", entityType = "deployment", entityId = "d-1" });
        await DashboardFixture.PostAsync(api, "/api/activity", new { action = "deploy.failed", entityType = "deployment", entityId = "d-1", outcome = "FAILED" });
        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        await page.GotoAsync("/ui/activity");
        await Expect(page.Locator("#activity-body")).ToContainTextAsync("runner_job.created");
        Assert.True(await page.Locator("#activity-body tr").CountAsync() >= 3);

        await page.GetByLabel("Action or prefix").FillAsync("deploy.*");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator("#activity-body tr")).ToHaveCountAsync(2);
        Assert.Contains("action=deploy.*", Uri.UnescapeDataString(page.Url), StringComparison.Ordinal);

        await page.GetByLabel("Outcome").SelectOptionAsync("FAILED");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator("#activity-body tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#activity-body")).ToContainTextAsync("deploy.failed");

        // The entity links to its own trail, oldest first.
        await page.GetByRole(AriaRole.Link, new() { Name = "deployment d-1" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/ui/audit/deployment/d-1$"));
        await Expect(page.Locator("#activity-body tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#activity-body tr").First).ToContainTextAsync("deploy.started");
    }

    [Fact]
    public async Task Script_and_img_payloads_in_a_job_name_and_an_event_stay_inert_text()
    {
        const string Img = "<img src=x onerror=\"window.__xss = 'img'; alert(1)\">";
        const string Script = "<script>window.__xss = 'script'; alert(2)</script>";
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = Img + Script })).GetProperty("id").GetGuid();
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/events", new { type = "step.output", payload = new { line = Script, html = Img } });
        var page = await fixture.PageAsync();
        var dialogs = 0;
        page.Dialog += async (_, dialog) =>
        {
            Interlocked.Increment(ref dialogs);
            await dialog.DismissAsync();
        };
        await DashboardFixture.SignInAsync(page, key);

        await Expect(page.Locator($"tr[data-job-id='{jobId}']")).ToContainTextAsync(Img + Script);
        await page.GotoAsync($"/ui/jobs/{jobId}");
        await Expect(page.Locator("#job-title")).ToHaveTextAsync(Img + Script);
        await Expect(page.Locator("#event-log .row[data-seq='2']")).ToContainTextAsync("<script>window.__xss");

        Assert.Equal(0, await page.Locator("#main img, #main script").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => window.__xss === undefined"));
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task A_read_only_key_sees_the_job_but_no_action_buttons()
    {
        var (workspaceId, writer) = await fixture.TenantAsync();
        var reader = await fixture.KeyAsync(workspaceId, "user:reader", ["jobs:read", "events:read", "activity:read"]);
        using var api = fixture.Api(writer);
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "look-only" })).GetProperty("id").GetGuid();

        var withWrite = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(withWrite, writer);
        await withWrite.GotoAsync($"/ui/jobs/{jobId}");
        await Expect(withWrite.GetByRole(AriaRole.Button, new() { Name = "Cancel job" })).ToBeVisibleAsync();

        var readOnly = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(readOnly, reader);
        await readOnly.GotoAsync($"/ui/jobs/{jobId}");
        await Expect(readOnly.Locator("#job-title")).ToHaveTextAsync("look-only");
        await Expect(readOnly.GetByRole(AriaRole.Button, new() { Name = "Verify chain" })).ToBeVisibleAsync();
        Assert.Equal(0, await readOnly.Locator("#cancel-job").CountAsync());
    }

    [Fact]
    public async Task Signing_out_ends_the_session_on_the_server_and_the_old_cookie_gets_401()
    {
        var (_, key) = await fixture.TenantAsync();
        var page = await fixture.PageAsync();
        await DashboardFixture.SignInAsync(page, key);
        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "jt_session").Value;
        Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(cookie));

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(cookie));
    }

    [Fact]
    public async Task The_main_pages_render_wide_and_narrow_and_are_captured_for_the_docs()
    {
        var (_, key) = await fixture.TenantAsync();
        using var api = fixture.Api(key);
        var jobId = await SampleJobAsync(api);
        await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "ci", name = "nightly-build" });
        // Set JOBTRAIL_UPDATE_SCREENSHOTS=1 to refresh docs/img; otherwise they go to a temporary folder.
        var folder = Environment.GetEnvironmentVariable("JOBTRAIL_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(RepositoryRoot(), "docs", "img")
            : Directory.CreateTempSubdirectory("jobtrail-ui-").FullName;

        foreach (var (width, height, suffix) in new[] { (1280, 720, ""), (420, 900, "-narrow") })
        {
            var page = await fixture.PageAsync(width, height);
            await DashboardFixture.SignInAsync(page, key);
            await Expect(page.Locator($"tr[data-job-id='{jobId}']")).ToBeVisibleAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"dashboard-jobs{suffix}.png") });

            await page.GotoAsync($"/ui/jobs/{jobId}");
            await Expect(page.Locator("#event-log .row[data-seq='8']")).ToBeVisibleAsync();
            await Expect(page.Locator("#steps .bar")).ToHaveCountAsync(3);
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"dashboard-job{suffix}.png"), FullPage = true });

            await page.GotoAsync("/ui/activity");
            await Expect(page.Locator("#activity-body")).ToContainTextAsync("runner_job.status_changed");
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"dashboard-activity{suffix}.png") });
            await page.Context.CloseAsync();
        }

        Assert.All(Directory.GetFiles(folder, "dashboard-*.png"), f => Assert.True(new FileInfo(f).Length > 1000, f));
    }

    private static async Task<Guid> SampleJobAsync(HttpClient api)
    {
        var jobId = (await DashboardFixture.PostAsync(api, "/api/runner-jobs", new { type = "agent", name = "release-notes-agent" })).GetProperty("id").GetGuid();
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/status", new { status = "QUEUED" });
        await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/status", new { status = "RUNNING" });
        foreach (var (name, phase, type) in new[] { ("checkout", "SETUP", "COMMAND"), ("draft notes", "EXECUTION", "AI_ACTION"), ("lint", "VALIDATION", "COMMAND") })
        {
            var step = (await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps", new { name, phase, type })).GetProperty("id").GetGuid();
            await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{step}/status", new { status = "RUNNING" });
            await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/events", new { type = "step.output", stepId = step, payload = new { line = $"{name}: working" } });
            if (type == "AI_ACTION")
            {
                await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{step}/tokens", new { input = 5210, output = 812 });
            }

            if (name != "lint")
            {
                await DashboardFixture.PostAsync(api, $"/api/runner-jobs/{jobId}/steps/{step}/status", new { status = "COMPLETED" });
            }
        }

        return jobId;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Modules.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Modules.sln not found above the test's folder.");
    }

    private async Task<HttpStatusCode> WithCookieAsync(string session)
    {
        using var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runner-jobs");
        request.Headers.Add("Cookie", $"jt_session={session}");
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [GeneratedRegex(@"^\d+(\.\d+)? (ms|s)$|^\d+ m \d+ s$")]
    private static partial Regex DurationText();
}
