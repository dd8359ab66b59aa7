using System.Text.Json;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobEvents.Features;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class JobEventsMappingTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void The_event_mapping_compiles_and_gives_the_api_json()
    {
        JobEventsMapping.Config.Compile();
        var stored = new EventRecord(
            Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), 7, "step.output", Guid.CreateVersion7(),
            """{"line": "ok", "n": 1.50}""", "runner:build-7", "corr-1", T0, T0.AddMilliseconds(3));

        var json = JsonSerializer.SerializeToElement(JobEventResponse.From(stored), JsonDefaults.Options);

        Assert.Equal(
            (stored.Id, stored.JobId, stored.WorkspaceId, 7L, "step.output", stored.StepId),
            (json.GetProperty("id").GetGuid(), json.GetProperty("jobId").GetGuid(), json.GetProperty("workspaceId").GetGuid(),
                json.GetProperty("seq").GetInt64(), json.GetProperty("type").GetString(), (Guid?)json.GetProperty("stepId").GetGuid()));
        Assert.Equal("ok", json.GetProperty("payload").GetProperty("line").GetString());
        Assert.Equal("1.50", json.GetProperty("payload").GetProperty("n").GetRawText());
        Assert.Equal(("runner:build-7", "corr-1"), (json.GetProperty("actorId").GetString(), json.GetProperty("correlationId").GetString()));
        Assert.Equal((T0, T0.AddMilliseconds(3)), (json.GetProperty("occurredAt").GetDateTime(), json.GetProperty("recordedAt").GetDateTime()));
    }

    [Fact]
    public void An_event_without_payload_maps_to_a_null_payload()
    {
        var stored = new EventRecord(
            Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), 1, "job.created", null, null, "system", "corr-2", T0, T0);

        Assert.Null(JobEventResponse.From(stored).Payload);
    }
}
