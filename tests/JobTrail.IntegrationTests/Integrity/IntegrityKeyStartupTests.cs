using JobTrail.BuildingBlocks.Integrity;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>The host refuses to start without an integrity key, except in Development and Testing.</summary>
public sealed class IntegrityKeyStartupTests
{
    [Theory]
    [InlineData("Production", "")]
    [InlineData("Staging", "")]
    [InlineData("Production", "c2hvcnQ=")]
    public async Task Outside_development_a_missing_or_short_key_stops_start_up_before_anything_is_written(string environment, string key)
    {
        // The database does not even exist: the key is checked before the first connection.
        await using var app = await JobTrailApp.WithoutDatabaseAsync(new Dictionary<string, string?>
        {
            ["environment"] = environment,
            ["JobTrail:Integrity:Key"] = key,
        });

        var error = Assert.Throws<InvalidOperationException>(() => app.Server);

        Assert.Contains("JobTrail:Integrity:Key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_development_a_missing_key_is_replaced_by_a_throw_away_one()
    {
        var database = await TestDatabases.CreateAsync();
        try
        {
            await using var app = new JobTrailApp(database, bootstrapKey: null, new Dictionary<string, string?>
            {
                ["environment"] = "Development",
                ["JobTrail:Integrity:Key"] = "",
            });
            _ = app.Server;

            var keys = app.Services.GetRequiredService<IntegrityKeyRing>();
            Assert.True(keys.IsGenerated);
            Assert.NotEqual(ChainTestSupport.Keys.Current.Id, keys.Current.Id);
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    [Fact]
    public async Task A_rotated_key_still_verifies_what_the_old_one_signed()
    {
        var fixture = new RotationFixture();
        await fixture.InitializeAsync();
        try
        {
            var job = (await fixture.Client().CreateJobAsync()).Id();
            (await fixture.Client().SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
            var oldKey = fixture.App.Services.GetRequiredService<IntegrityKeyRing>().Current.Id;

            await using var rotated = fixture.App.WithWebHostBuilder(b =>
            {
                b.UseSetting("JobTrail:Integrity:Key", Convert.ToBase64String(Enumerable.Repeat((byte)0x42, 32).ToArray()));
                b.UseSetting($"JobTrail:Integrity:PreviousKeys:{oldKey}", JobTrailApp.IntegrityKey);
            });
            var client = rotated.CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", fixture.BootstrapKey);
            (await client.PostJsonAsync($"/api/runner-jobs/{job}/events", new { type = "step.output" })).EnsureStatus(201);

            var keyIds = await fixture.QueryAsServiceAsync(
                $"select key_id from job_events.event_links where job_id = '{job}' order by seq", fixture.DefaultWorkspaceId.ToString(), r => r.GetString(0));
            Assert.Equal([oldKey, oldKey, rotated.Services.GetRequiredService<IntegrityKeyRing>().Current.Id], keyIds);
            Assert.True((await EventChainTests.VerifyAsync(client, job)).Valid);
            // A host that does not hold the new key cannot vouch for the link made with it.
            (await EventChainTests.VerifyAsync(fixture.Client(), job)).AssertFails(3, ChainFailure.HashMismatch);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private sealed class RotationFixture() : JobTrailFixture(null, null);
}
