using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// Hostile input, on every endpoint that takes it: each refusal is a precise problem+json, never a
/// 500, and writes nothing (rows counted as the owner before and after). Refusals the mediator sees
/// (validation) leave their FAILED activity row, by design; refusals before it leave nothing at all.
/// </summary>
public sealed class InputLimitTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    /// <summary>Every POST that takes a JSON body, with a valid body to start from; {job} and {step} are filled in.</summary>
    public static TheoryData<string, string> Bodies() => new()
    {
        { "/api/runner-jobs", """{"type":"ci","name":"build","metadata":{"k":"v"}}""" },
        { "/api/runner-jobs/{job}/status", """{"status":"QUEUED"}""" },
        { "/api/runner-jobs/{job}/steps", """{"name":"lint","phase":"SETUP","type":"COMMAND"}""" },
        { "/api/runner-jobs/{job}/steps/{step}/status", """{"status":"RUNNING"}""" },
        { "/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":1,"output":2}""" },
        { "/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"k":"v"}}""" },
        { "/api/runner-jobs/{job}/events/batch", """{"events":[{"type":"step.output","payload":{"k":"v"}}]}""" },
        { "/api/activity", """{"action":"auth.login","entityType":"user","entityId":"42","metadata":{"k":"v"}}""" },
        { "/api/workspaces", """{"slug":"limits-ws","name":"w"}""" },
        { "/api/workspaces/{workspace}/api-keys", """{"name":"k","actorId":"user:1","scopes":["jobs:read"]}""" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task A_body_over_its_limit_is_413_even_when_it_is_one_huge_string(string path, string body)
    {
        var target = await TargetAsync(path);
        var limit = path.EndsWith("/batch", StringComparison.Ordinal) ? 8 << 20 : 1 << 20;
        var padded = body[..^1] + ",\"padding\":\"" + new string('x', limit) + "\"}";
        var tenMegabytes = body[..^1] + ",\"padding\":\"" + new string('x', 10_000_000) + "\"}";

        await AssertNothingWrittenAsync(async () =>
        {
            (await fixture.Client().PostRawAsync(target, padded)).EnsureProblem(413, "payload_too_large");
            (await fixture.Client().PostRawAsync(target, tenMegabytes)).EnsureProblem(413, "payload_too_large");
        });
    }

    [Theory]
    [InlineData("/api/runner-jobs", "{\"type\":\"ci\",\"name\":\"{big}\"}")]
    [InlineData("/api/activity", "{\"action\":\"auth.login\",\"entityType\":\"user\",\"entityId\":\"{big}\"}")]
    [InlineData("/api/runner-jobs/{job}/events/batch", "{\"events\":[{\"type\":\"step.output\",\"payload\":{\"line\":\"{big}\"}}]}")]
    public async Task A_streamed_body_without_a_length_is_cut_off_at_its_limit_with_413(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () =>
            (await SendChunkedAsync(target, body.Replace("{big}", new string('x', 10_000_000), StringComparison.Ordinal))).EnsureProblem(413, "payload_too_large"));
    }

    [Theory]
    [InlineData("/api/runner-jobs", "{\"type\":\"ci\",\"metadata\":{deep}}")]
    [InlineData("/api/runner-jobs/{job}/events", "{\"type\":\"step.output\",\"payload\":{deep}}")]
    [InlineData("/api/runner-jobs/{job}/events/batch", "{\"events\":[{\"type\":\"step.output\",\"payload\":{deep}}]}")]
    [InlineData("/api/activity", "{\"action\":\"auth.login\",\"entityType\":\"user\",\"entityId\":\"1\",\"metadata\":{deep}}")]
    [InlineData("/api/runner-jobs/{job}/status", "{\"status\":{deep}}")]
    public async Task Json_nested_65_deep_is_400(string path, string body)
    {
        var target = await TargetAsync(path);
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 65)) + "1" + new string('}', 65);

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await fixture.Client().PostRawAsync(target, body.Replace("{deep}", deep, StringComparison.Ordinal));
            response.EnsureProblem(400, "malformed_json");
            Assert.True(
                response.Detail.Contains("too deeply", StringComparison.Ordinal) || response.Detail.Contains("wrong type", StringComparison.Ordinal),
                response.Detail);
        });
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Invalid_utf8_is_400(string path, string body)
    {
        if (!body.Contains(":\"", StringComparison.Ordinal))
        {
            return; // no string to break (token counts)
        }

        var target = await TargetAsync(path);
        var bytes = Encoding.UTF8.GetBytes(body).ToList();
        // Inside the first string value: a lone continuation byte and a truncated sequence.
        bytes.InsertRange(body.IndexOf(":\"", StringComparison.Ordinal) + 2, new byte[] { 0x80, 0xC3 });

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await PostBytesAsync(target, [.. bytes]);
            response.EnsureProblem(400, "malformed_json");
            Assert.Equal("The request body is not valid UTF-8.", response.Detail);
        });
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task A_body_that_is_not_json_is_415(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () =>
        {
            (await fixture.Client().PostRawAsync(target, body, "text/plain")).EnsureProblem(415);
            (await fixture.Client().PostRawAsync(target, "a=b", "application/x-www-form-urlencoded")).EnsureProblem(415);
            (await PostBytesAsync(target, Encoding.UTF8.GetBytes(body), contentType: null)).EnsureProblem(415);
        });
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task An_unknown_property_is_400(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await fixture.Client().PostRawAsync(target, body[..^1] + ",\"isAdmin\":true}");
            response.EnsureProblem(400, "malformed_json");
            Assert.Contains("Unknown property 'isAdmin'", response.Detail, StringComparison.Ordinal);
        });
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task A_nul_character_or_an_unpaired_surrogate_in_any_string_is_400(string path, string body)
    {
        if (!body.Contains(":\"", StringComparison.Ordinal))
        {
            return; // no string to poison (token counts)
        }

        var target = await TargetAsync(path);
        var at = body.IndexOf(":\"", StringComparison.Ordinal) + 2;

        await AssertNothingWrittenAsync(async () =>
        {
            foreach (var poison in new[] { "\\u0000", "\\ud800", "\\udc00x" })
            {
                var response = await fixture.Client().PostRawAsync(target, body.Insert(at, poison));
                response.EnsureProblem(400);
                Assert.Contains("NUL character or an unpaired surrogate", response.Detail, StringComparison.Ordinal);
            }
        }, allowFailedActivity: false);
    }

    [Theory]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"note":"a\u0000b"}}""")]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"a\u0000":1}}""")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"deep":{"x":["\ud83d"]}}}""")]
    [InlineData("/api/runner-jobs/{job}/events/batch", """{"events":[{"type":"step.output","payload":{"x":"\u0000"}}]}""")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{"x":"\u0000"}}""")]
    public async Task Nul_characters_anywhere_inside_payloads_and_metadata_are_400(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () =>
            (await fixture.Client().PostRawAsync(target, body)).EnsureProblem(400, "validation_failed"));
    }

    [Theory]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":1e30,"output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":9223372036854775808,"output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":-1,"output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":1000000001,"output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":1.5,"output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/tokens", """{"input":"5","output":1}""")]
    [InlineData("/api/runner-jobs/{job}/steps", """{"name":"a","phase":"SETUP","type":"COMMAND","ordinal":0}""")]
    [InlineData("/api/runner-jobs/{job}/steps", """{"name":"a","phase":"SETUP","type":"COMMAND","ordinal":2147483648}""")]
    [InlineData("/api/runner-jobs/{job}/steps", """{"name":"a","phase":"SETUP","type":"COMMAND","ordinal":100001}""")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","occurredAt":"10000-01-01T00:00:00Z"}""")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","stepId":"not-a-uuid"}""")]
    public async Task Numbers_and_values_out_of_range_are_400(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () => (await fixture.Client().PostRawAsync(target, body)).EnsureProblem(400));
    }

    [Theory]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"a":1e131071}}""", "payload.a")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"a":1e131072}}""", "payload.a")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"deep":{"x":[1.5,-1e999]}}}""", "payload.deep.x[1]")]
    [InlineData("/api/runner-jobs/{job}/events/batch",
        """{"events":[{"type":"step.output"},{"type":"step.output"},{"type":"step.output"},{"type":"step.output","payload":{"a":1e400}}]}""",
        "events[3].payload.a")]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"a":-1e999}}""", "metadata.a")]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"retry after":[0e1000000000]}}""", "metadata['retry after'][0]")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{"a":-1e999}}""", "metadata.a")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{"Tiny":1e-16384}}""", "metadata.Tiny")]
    public async Task Numbers_a_double_cannot_hold_or_jsonb_cannot_store_anywhere_in_payloads_and_metadata_are_400_naming_the_field(string path, string body, string field)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await fixture.Client().PostRawAsync(target, body);
            response.EnsureProblem(400, "validation_failed");
            Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out var messages), response.Body);
            // The message names the field as the event sees it: events[3].payload.a is 'payload.a'.
            var local = field.StartsWith("events[", StringComparison.Ordinal) ? field[(field.IndexOf('.', StringComparison.Ordinal) + 1)..] : field;
            Assert.StartsWith($"'{local}' ", messages[0].GetString(), StringComparison.Ordinal);
        });
    }

    /// <summary>Each free-form JSON field: its endpoint, a body around it ({json}), its limit, its error key and where it is stored.</summary>
    public static TheoryData<string, string, int, string, string> StoredJsonFields() => new()
    {
        { "/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{json}}""", 64 * 1024, "payload", "job_events.events.payload" },
        { "/api/runner-jobs/{job}/events/batch", """{"events":[{"type":"step.output","payload":{json}}]}""", 64 * 1024, "events[0].payload", "job_events.events.payload" },
        { "/api/runner-jobs", """{"type":"ci","metadata":{json}}""", 16 * 1024, "metadata", "runner_jobs.jobs.metadata" },
        { "/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{json}}""", 16 * 1024, "metadata", "activity.activity_logs.metadata" },
    };

    [Theory]
    [MemberData(nameof(StoredJsonFields))]
    public async Task The_limit_holds_for_the_json_as_postgres_stores_it_with_its_numbers_written_out(string path, string body, int limit, string field, string column)
    {
        var target = await TargetAsync(path);
        // Ten 1e300 cost 6 bytes each as sent and 301 stored; the string fills the rest.
        string Sent(int fill) => "{\"n\":[" + string.Join(',', Enumerable.Repeat("1e300", 10)) + "],\"s\":\"" + new string('x', fill) + "\"}";
        string Stored(int fill) => "{\"n\": [" + string.Join(", ", Enumerable.Repeat("1" + new string('0', 300), 10)) + "], \"s\": \"" + new string('x', fill) + "\"}";
        var underAsSent = limit - 1 - Sent(0).Length;
        var exactlyStored = limit - Stored(0).Length;
        Assert.Equal(limit - 1, Sent(underAsSent).Length);
        Assert.Equal(limit, Stored(exactlyStored).Length);

        await AssertNothingWrittenAsync(async () =>
        {
            foreach (var fill in new[] { underAsSent, exactlyStored + 1 })
            {
                var refused = await fixture.Client().PostRawAsync(target, body.Replace("{json}", Sent(fill), StringComparison.Ordinal));
                refused.EnsureProblem(400, "validation_failed");
                var message = refused.Json.GetProperty("errors").GetProperty(field)[0].GetString();
                Assert.Contains($"would take {Stored(fill).Length} bytes", message, StringComparison.Ordinal);
            }
        });

        var fits = (await fixture.Client().PostRawAsync(target, body.Replace("{json}", Sent(exactlyStored), StringComparison.Ordinal))).EnsureStatus(201).Json;
        var id = fits.TryGetProperty("items", out var items) ? items[0].Id() : fits.Id();
        var table = column[..column.LastIndexOf('.')];
        var stored = await fixture.ScalarAsOwnerAsync<string>($"select {column[(table.Length + 1)..]}::text from {table} where id = '{id}'", fixture.DefaultWorkspaceId.ToString());
        Assert.Equal(Stored(exactlyStored), stored);
        Assert.Equal(limit, Encoding.UTF8.GetByteCount(stored!));
    }

    [Fact]
    public async Task Activity_metadata_is_limited_as_stored_after_its_secrets_are_redacted()
    {
        // "pwd_0001": 1 is stored as "pwd_0001": "[REDACTED]", 11 bytes longer.
        string Sent(string prefix, int fill) =>
            "{" + string.Join(',', Enumerable.Range(0, 1000).Select(i => $"\"{prefix}_{i:D4}\":1")) + ",\"s\":\"" + new string('x', fill) + "\"}";
        string AsSentStored(string prefix, int fill) =>
            "{" + string.Join(", ", Enumerable.Range(0, 1000).Select(i => $"\"{prefix}_{i:D4}\": 1")) + ", \"s\": \"" + new string('x', fill) + "\"}";
        var fill = 16 * 1024 - AsSentStored("pwd", 0).Length;
        string Body(string prefix) => $$"""{"action":"auth.login","entityType":"user","entityId":"1","metadata":{{Sent(prefix, fill)}}}""";

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await fixture.Client().PostRawAsync("/api/activity", Body("pwd"));
            response.EnsureProblem(400, "validation_failed");
            Assert.Contains("[REDACTED]", response.Json.GetProperty("errors").GetProperty("metadata")[0].GetString(), StringComparison.Ordinal);
        }, allowFailedActivity: false);

        // The same size with keys that are not secret is stored as sent, exactly at the limit.
        var kept = (await fixture.Client().PostRawAsync("/api/activity", Body("ord"))).EnsureStatus(201).Json.Id();
        Assert.Equal(16 * 1024, await fixture.ScalarAsOwnerAsync<int>(
            $"select octet_length(metadata::text) from activity.activity_logs where id = '{kept}'", fixture.DefaultWorkspaceId.ToString()));
    }

    [Theory]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.output","payload":{"line":"a{bad}b"}}""", "payload.line")]
    [InlineData("/api/runner-jobs/{job}/events/batch", """{"events":[{"type":"step.output"},{"type":"step.output","payload":{"lines":["ok","{bad}"]}}]}""", "events[1].payload.lines[1]")]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"branch":"{bad}"}}""", "metadata.branch")]
    [InlineData("/api/runner-jobs", """{"type":"ci","metadata":{"git":{"k{bad}":"v"}}}""", "metadata.git")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{"agent":"{bad}"}}""", "metadata.agent")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","metadata":{"{bad}":1}}""", "metadata")]
    public async Task Invalid_utf8_inside_a_payload_or_metadata_is_400_naming_the_field(string path, string body, string field)
    {
        var target = await TargetAsync(path);
        var at = body.IndexOf("{bad}", StringComparison.Ordinal);
        // 0xC3 starts a two-byte sequence; '(' cannot continue it.
        byte[] bytes = [.. Encoding.UTF8.GetBytes(body[..at]), 0xC3, 0x28, .. Encoding.UTF8.GetBytes(body[(at + 5)..])];

        await AssertNothingWrittenAsync(async () =>
        {
            var response = await PostBytesAsync(target, bytes);
            response.EnsureProblem(400, "validation_failed");
            Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out var messages), response.Body);
            Assert.Contains("not valid UTF-8", messages[0].GetString(), StringComparison.Ordinal);
        });
    }

    /// <summary>A list that takes a cursor, a cursor it could have issued, and a crafted one.</summary>
    public static TheoryData<string, string, string> CraftedCursors()
    {
        // Fixed ids keep the theory's rows the same at discovery and at run time.
        const string a = "0197a6c4-0000-7000-8000-000000000001", b = "0197a6c4-0000-7000-8000-000000000002";
        return new()
        {
            { "/api/runner-jobs", $$"""{"Id":"{{a}}"}""", $$"""{"Id":"{{a}}","Id":"{{b}}"}""" },
            { "/api/workspaces/{workspace}/api-keys", $$"""{"Id":"{{a}}"}""", $$"""{"Id":"{{a}}","Id":"{{b}}"}""" },
            { "/api/runner-jobs/{job}/steps", """{"Ordinal":1}""", """{"Ordinal":-1}""" },
            { "/api/runner-jobs/{job}/steps", """{"Ordinal":1}""", """{"Ordinal":1,"Ordinal":2}""" },
            { "/api/runner-jobs/{job}/events", """{"Seq":1}""", """{"Seq":-1}""" },
            { "/api/runner-jobs/{job}/events", """{"Seq":1}""", """{"Seq":5,"Seq":1}""" },
            { "/api/activity", """{"Before":1}""", """{"Before":-9223372036854775808}""" },
            { "/api/activity", """{"Before":1}""", """{"Before":1,"Before":2}""" },
            { "/api/activity/audit/runner_job/x", """{"After":1}""", """{"After":-1}""" },
            { "/api/activity/audit/runner_job/x", """{"After":1}""", """{"After":1,"After":1}""" },
        };
    }

    [Theory]
    [MemberData(nameof(CraftedCursors))]
    public async Task A_cursor_with_a_duplicate_field_or_a_negative_position_is_400(string path, string issuable, string crafted)
    {
        var target = await TargetAsync(path) + "?cursor=";

        (await fixture.Client().GetJsonAsync(target + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(issuable)))).EnsureStatus(200);
        await AssertNothingWrittenAsync(async () =>
        {
            var response = await fixture.Client().GetJsonAsync(target + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(crafted)));
            response.EnsureProblem(400, "validation_failed");
            Assert.Equal("'cursor' is not a cursor this list issued.", response.Detail);
        });
    }

    [Theory]
    [InlineData("/api/runner-jobs/{job}/status", """{"status":"running"}""")]
    [InlineData("/api/runner-jobs/{job}/status", """{"status":"DONE"}""")]
    [InlineData("/api/runner-jobs/{job}/steps", """{"name":"a","phase":"TEARDOWN","type":"COMMAND"}""")]
    [InlineData("/api/runner-jobs/{job}/steps", """{"name":"a","phase":"SETUP","type":"SCRIPT"}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/status", """{"status":"PENDING"}""")]
    [InlineData("/api/runner-jobs/{job}/steps/{step}/status", """{"status":"SKIPPED"}""")]
    [InlineData("/api/runner-jobs/{job}/events", """{"type":"step.exploded"}""")]
    [InlineData("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"1","outcome":"MAYBE"}""")]
    [InlineData("/api/workspaces/{workspace}/api-keys", """{"name":"k","actorId":"user:1","scopes":["root"]}""")]
    public async Task Unknown_enum_values_are_400(string path, string body)
    {
        var target = await TargetAsync(path);

        await AssertNothingWrittenAsync(async () => (await fixture.Client().PostRawAsync(target, body)).EnsureProblem(400, "validation_failed"));
    }

    [Fact]
    public async Task Lists_in_bodies_are_bounded()
    {
        var target = await TargetAsync("/api/workspaces/{workspace}/api-keys");
        var scopes = string.Join(',', Enumerable.Repeat("\"jobs:read\"", 17));
        var job = await JobAsync();

        await AssertNothingWrittenAsync(async () =>
        {
            var keys = await fixture.Client().PostRawAsync(target, $$"""{"name":"k","actorId":"user:1","scopes":[{{scopes}}]}""");
            keys.EnsureProblem(400, "validation_failed");
            Assert.Contains("at most 16", keys.Detail, StringComparison.Ordinal);
            var batch = await fixture.Client().EmitBatchAsync(job, Enumerable.Range(0, 1001).Select(_ => (object)new { type = "step.output" }));
            batch.EnsureProblem(400, "validation_failed");
        });
    }

    /// <summary>Every list and filter, with a parameter that is malformed, out of range or unknown.</summary>
    public static TheoryData<string> BadQueries() =>
    [
        "/api/runner-jobs?limit=0", "/api/runner-jobs?limit=1001", "/api/runner-jobs?limit=99999999999", "/api/runner-jobs?status=running",
        "/api/runner-jobs?status=DONE", "/api/runner-jobs?cursor=bm90LWEtY3Vyc29y", "/api/runner-jobs?type=" + new string('t', 101),
        "/api/runner-jobs/{job}/steps?cursor=e30", "/api/runner-jobs/{job}/steps?limit=-1",
        "/api/runner-jobs/{job}/events?cursor=" + "eyJTZXEiOiJ4In0", "/api/runner-jobs/{job}/events?afterSeq=-1",
        "/api/runner-jobs/{job}/events?afterSeq=18446744073709551616", "/api/runner-jobs/{job}/events?types=step.exploded",
        "/api/runner-jobs/{job}/events?types=" + new string('a', 1001), "/api/runner-jobs/{job}/events?from=yesterday",
        "/api/runner-jobs/{job}/events?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/api/runner-jobs/{job}/events/recent?count=0", "/api/runner-jobs/{job}/events/recent?count=1001",
        "/api/activity?cursor=%%%", "/api/activity?outcome=MAYBE", "/api/activity?outcome=succeeded", "/api/activity?action=runner_job",
        "/api/activity?entityType=Runner-Job", "/api/activity?actorId=" + new string('a', 201), "/api/activity?entityId=" + new string('e', 201),
        "/api/activity?limit=0", "/api/activity/audit/runner_job/x?cursor=e30", "/api/activity/audit/Runner-Job/x",
        "/api/activity/verify?fromSeq=0", "/api/activity/verify?toSeq=-3",
        "/api/workspaces/{workspace}/api-keys?cursor=e30", "/api/workspaces/{workspace}/api-keys?limit=1001",
        "/api/runner-jobs?type=%00", "/api/activity?actorId=a%00b", "/api/activity/audit/user/x?limit=%00",
    ];

    [Theory]
    [MemberData(nameof(BadQueries))]
    public async Task Malformed_cursors_limits_filters_and_enums_are_400(string query)
    {
        var target = await TargetAsync(query);

        await AssertNothingWrittenAsync(async () => (await fixture.Client().GetJsonAsync(target)).EnsureProblem(400));
    }

    /// <summary>Strings an injection would try; each filter must treat them as values to compare.</summary>
    public static TheoryData<string> Injections() =>
    [
        "x' or '1'='1", "'; drop table runner_jobs.jobs; --", "%' or 1=1 --", "\" or \"\"=\"", "1); delete from activity.activity_logs; --",
        "$1", "\\'; select pg_sleep(5); --", "') or ('a'='a",
    ];

    [Theory]
    [MemberData(nameof(Injections))]
    public async Task Sql_in_any_filter_is_only_ever_a_value(string injection)
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        (await tenant.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = injection })).EnsureStatus(201);
        var value = Uri.EscapeDataString(injection);
        var jobs = await CountAsOwnerAsync("runner_jobs.jobs", tenant.WorkspaceId);

        // Filters compared for equality find nothing, or exactly the row that holds the string.
        Assert.Equal(0, Items(await tenant.Client.GetJsonAsync($"/api/runner-jobs?type={value}")));
        Assert.Equal(0, Items(await tenant.Client.GetJsonAsync($"/api/activity?actorId={value}")));
        Assert.Equal(1, Items(await tenant.Client.GetJsonAsync($"/api/activity?entityId={value}")));
        Assert.Equal(1, Items(await tenant.Client.GetJsonAsync($"/api/activity/audit/user/{value}")));
        // Filters with a grammar refuse it.
        foreach (var refused in new[]
        {
            $"/api/runner-jobs?status={value}", $"/api/runner-jobs/{job}/events?types={value}", $"/api/activity?action={value}",
            $"/api/activity?entityType={value}", $"/api/activity?outcome={value}", $"/api/activity/audit/{value}/x",
            $"/api/runner-jobs?cursor={value}", $"/api/activity?cursor={value}", $"/api/runner-jobs/{job}/events?cursor={value}",
        })
        {
            var response = await tenant.Client.GetJsonAsync(refused);
            Assert.True(response.Status is 400 or 404, $"{refused}: {response.Status} {response.Body}");
        }

        Assert.Equal(jobs, await CountAsOwnerAsync("runner_jobs.jobs", tenant.WorkspaceId));
        (await tenant.Client.GetJsonAsync($"/api/runner-jobs/{job}")).EnsureStatus(200);
    }

    private static int Items(ApiResponse response) => response.EnsureStatus(200).Json.GetProperty("items").GetArrayLength();

    /// <summary>Runs the refusals and asserts no domain row appeared anywhere (and, unless allowed, no activity row either).</summary>
    private async Task AssertNothingWrittenAsync(Func<Task> refusals, bool allowFailedActivity = true)
    {
        var before = await SnapshotAsync();
        await refusals();
        var after = await SnapshotAsync();

        Assert.Equal(before.Domain, after.Domain);
        Assert.Equal(before.Succeeded, after.Succeeded);
        if (!allowFailedActivity)
        {
            Assert.Equal(before.Refused, after.Refused);
        }
    }

    private async Task<(string Domain, long Succeeded, long Refused)> SnapshotAsync()
    {
        var workspace = fixture.DefaultWorkspaceId;
        var counts = new List<long>();
        foreach (var table in new[] { "runner_jobs.jobs", "job_steps.steps", "job_events.events", "job_events.event_links", "job_events.idempotency_keys", "access.api_keys" })
        {
            counts.Add(await CountAsOwnerAsync(table, workspace));
        }

        counts.Add(await fixture.ScalarAsOwnerAsync<long>("select count(*) from access.workspace_slugs"));
        var tokens = await fixture.ScalarAsOwnerAsync<long>("select coalesce(sum(tokens_input + tokens_output), 0) from job_steps.steps", workspace.ToString());
        var statuses = await fixture.ScalarAsOwnerAsync<string>("select string_agg(status, ',' order by id) from runner_jobs.jobs", workspace.ToString());
        var succeeded = await fixture.ScalarAsOwnerAsync<long>("select count(*) from activity.activity_logs where outcome = 'SUCCEEDED' and workspace_id = $$" + workspace + "$$", workspace.ToString());
        var refused = await fixture.ScalarAsOwnerAsync<long>("select count(*) from activity.activity_logs where outcome <> 'SUCCEEDED' and workspace_id = $$" + workspace + "$$", workspace.ToString());
        return (string.Join(",", counts) + $"|{tokens}|{statuses}", succeeded, refused);
    }

    private Task<long> CountAsOwnerAsync(string table, Guid workspace) =>
        fixture.ScalarAsOwnerAsync<long>($"select count(*) from {table}", workspace.ToString());

    /// <summary>The path with a fresh job (running), an AI step in it, and the default workspace filled in.</summary>
    private async Task<string> TargetAsync(string path)
    {
        if (!path.Contains("{job}", StringComparison.Ordinal))
        {
            return path.Replace("{workspace}", fixture.DefaultWorkspaceId.ToString(), StringComparison.Ordinal);
        }

        var job = await JobAsync();
        var step = (await fixture.Client().CreateStepAsync(job, "review", "VALIDATION", "AI_ACTION")).Id();
        return path.Replace("{job}", job.ToString(), StringComparison.Ordinal).Replace("{step}", step.ToString(), StringComparison.Ordinal);
    }

    private async Task<Guid> JobAsync()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();
        (await fixture.Client().SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        return job;
    }

    private async Task<ApiResponse> PostBytesAsync(string path, byte[] body, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        return await HttpClientJsonExtensions.ReadAsync(await fixture.Client().PostAsync(path, content));
    }

    /// <summary>No Content-Length: the limit must hold while the body streams in.</summary>
    private async Task<ApiResponse> SendChunkedAsync(string path, string body)
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        return await HttpClientJsonExtensions.ReadAsync(await fixture.Client().SendAsync(request));
    }
}
