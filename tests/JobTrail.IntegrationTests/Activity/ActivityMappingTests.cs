using System.Net;
using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.Activity;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Features;

namespace JobTrail.IntegrationTests.Activity;

public sealed class ActivityMappingTests
{
    [Fact]
    public void The_activity_mapping_compiles_and_gives_the_api_json()
    {
        ActivityMapping.Config.Compile();
        var at = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var entry = new ActivityEntry
        {
            Id = Guid.CreateVersion7(), WorkspaceId = Guid.CreateVersion7(), ActorId = "runner:build-7", Action = "runner_job.created",
            EntityType = "runner_job", EntityId = "42", Outcome = ActivityOutcome.Denied, Metadata = """{"error":"missing_scope"}""",
            IpAddress = IPAddress.Parse("192.0.2.7"), UserAgent = "curl/8", CorrelationId = "corr-1", OccurredAt = at,
        };

        var json = JsonSerializer.SerializeToElement(ActivityResponse.From(entry), JsonDefaults.Options);

        Assert.Equal("DENIED", json.GetProperty("outcome").GetString());
        Assert.Equal("192.0.2.7", json.GetProperty("ipAddress").GetString());
        Assert.Equal("missing_scope", json.GetProperty("metadata").GetProperty("error").GetString());
        Assert.Equal(
            (entry.Id, "runner:build-7", "runner_job.created", "runner_job", "42", at),
            (json.GetProperty("id").GetGuid(), json.GetProperty("actorId").GetString(), json.GetProperty("action").GetString(),
                json.GetProperty("entityType").GetString(), json.GetProperty("entityId").GetString(), json.GetProperty("occurredAt").GetDateTime()));
    }

    [Fact]
    public void An_activity_without_address_or_metadata_maps_to_nulls()
    {
        var entry = new ActivityEntry { ActorId = "system", Action = "workspace.created", EntityType = "workspace" };

        var response = ActivityResponse.From(entry);

        Assert.Null(response.IpAddress);
        Assert.Null(response.Metadata);
    }
}
