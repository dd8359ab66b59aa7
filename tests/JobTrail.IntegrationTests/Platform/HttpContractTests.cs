using System.Net.Http.Headers;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

public sealed class HttpContractTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Theory]
    [InlineData("{\"type\":\"ci\",", "not valid JSON")]
    [InlineData("{\"type\":\"ci\",\"colour\":\"red\"}", "Unknown property 'colour'")]
    [InlineData("{\"type\":5}", "'$.type'")]
    [InlineData("[1,2]", "")]
    [InlineData("", "body")]
    public async Task Malformed_bodies_are_a_400_problem_and_create_nothing(string body, string expected)
    {
        var client = fixture.Client();
        var before = await CountJobsAsync();

        var response = await client.PostRawAsync("/api/runner-jobs", body);

        response.EnsureProblem(400);
        Assert.Contains(expected, response.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("JobTrail.", response.Body, StringComparison.Ordinal);
        Assert.Equal(before, await CountJobsAsync());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_a_415_problem()
    {
        var response = await fixture.Client().PostRawAsync("/api/runner-jobs", "type=ci", "application/x-www-form-urlencoded");
        response.EnsureProblem(415);
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_is_a_413_problem()
    {
        var big = "{\"type\":\"ci\",\"name\":\"" + new string('x', (1 << 20) + 10) + "\"}";
        var response = await fixture.Client().PostRawAsync("/api/runner-jobs", big);
        response.EnsureProblem(413);
    }

    [Fact]
    public async Task Json_nested_deeper_than_32_is_a_400_problem()
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40);
        var response = await fixture.Client().PostRawAsync("/api/runner-jobs", "{\"type\":\"ci\",\"metadata\":" + deep + "}");
        response.EnsureProblem(400);
        Assert.Contains("too deeply", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_must_be_an_object_of_at_most_16_kib()
    {
        var client = fixture.Client();
        (await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", metadata = new[] { 1, 2 } })).EnsureProblem(400, "validation_failed");
        (await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", metadata = new { blob = new string('x', 17 * 1024) } })).EnsureProblem(400, "validation_failed");
    }

    [Fact]
    public async Task An_unknown_route_is_a_404_problem()
    {
        (await fixture.Client().GetJsonAsync("/api/no-such-thing")).EnsureProblem(404);
    }

    [Fact]
    public async Task A_malformed_id_in_the_path_is_a_404_not_a_500()
    {
        (await fixture.Client().GetJsonAsync("/api/runner-jobs/not-a-uuid")).EnsureProblem(404);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=eyJ4IjoxfQ")]
    [InlineData("status=running")]
    public async Task Bad_list_parameters_are_a_400_problem(string query)
    {
        (await fixture.Client().GetJsonAsync($"/api/runner-jobs?{query}")).EnsureProblem(400);
    }

    [Fact]
    public async Task A_supplied_correlation_id_is_echoed_and_one_is_made_when_absent()
    {
        var client = fixture.Client();
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/runner-jobs");
        request.Headers.Add("X-Correlation-Id", "trace-me-123");
        var echoed = await client.SendAsync(request);
        var made = await client.GetAsync("/api/runner-jobs");

        Assert.Equal("trace-me-123", echoed.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Matches("^[0-9a-f]{32}$", made.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task A_problem_carries_the_requests_correlation_id()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runner-jobs/{Guid.CreateVersion7()}");
        request.Headers.Add("X-Correlation-Id", "corr-404");
        var response = await HttpClientJsonExtensions.ReadAsync(await fixture.Client().SendAsync(request));

        response.EnsureProblem(404);
        Assert.Equal("corr-404", response.Json.GetProperty("correlationId").GetString());
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_across_pages_with_filters()
    {
        var tenant = await fixture.CreateTenantAsync();
        var created = new List<Guid>();
        for (var i = 0; i < 9; i++)
        {
            created.Add((await tenant.Client.CreateJobAsync(i % 3 == 0 ? "deploy" : "ci")).Id());
        }

        (await tenant.Client.SetJobStatusAsync(created[1], "RUNNING")).EnsureStatus(200);

        var all = await WalkAsync(tenant.Client, "/api/runner-jobs?limit=4");
        var deploys = await WalkAsync(tenant.Client, "/api/runner-jobs?type=deploy&limit=2");
        var running = await WalkAsync(tenant.Client, "/api/runner-jobs?status=RUNNING");

        Assert.Equal(Enumerable.Reverse(created), all);
        Assert.Equal(new[] { created[6], created[3], created[0] }, deploys);
        Assert.Equal([created[1]], running);
    }

    [Fact]
    public async Task Health_endpoints_answer_without_a_key()
    {
        var client = fixture.AnonymousClient();
        Assert.Equal(200, (int)(await client.GetAsync("/health/live")).StatusCode);
        var ready = await HttpClientJsonExtensions.ReadAsync(await client.GetAsync("/health/ready"));
        ready.EnsureStatus(200);
        Assert.Equal("Healthy", ready.Json.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal(200, (int)(await client.GetAsync("/openapi/v1.json")).StatusCode);
    }

    private static async Task<List<Guid>> WalkAsync(HttpClient client, string path)
    {
        var ids = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = (await client.GetJsonAsync(path + (cursor is null ? "" : $"&cursor={cursor}"))).EnsureStatus(200).Json;
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(j => j.Id()));
            cursor = page.Str("nextCursor");
        }
        while (cursor is not null);

        return ids;
    }

    private Task<long> CountJobsAsync() =>
        fixture.ScalarAsOwnerAsync<long>("select count(*) from runner_jobs.jobs", fixture.DefaultWorkspaceId.ToString());
}
