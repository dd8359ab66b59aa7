using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Reporting;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>
/// `capture`: the cost of automatic activity capture on an audited command. The host has no switch
/// for it, so two hosts of the same Program run side by side on one database (this tool's `serve`
/// command): one as built, one with every IActivityCapture removed from its services. The command is
/// POST /api/runner-jobs (job row, job.created event and outbox row, plus the activity row when on).
/// Budget (DESIGN §8): capture adds ≤ 10% to the command's latency; API RSS ≤ 400 MB.
/// </summary>
internal static class CaptureScenario
{
    public static async Task<ScenarioReport> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = await AbScenario.RunAsync(
            context,
            $"capture: POST /api/runner-jobs with activity capture on (B) vs off (A), {clients} concurrent clients",
            context.Command("capture", $"--clients {clients}"),
            new AbSide("capture off: this tool's `serve` command hosting the same Program with every `IActivityCapture` removed from its services", ServerSpec.Serve(capture: false), context.Options.ServiceExtra),
            new AbSide("capture on: the same `serve` command, services as built", ServerSpec.Serve(capture: true), context.Options.ServiceExtra),
            AbScenario.Create,
            budgetRatio: 1.10,
            cancellationToken);
        report.Notes.Add("`serve` hosts the real Program on Kestrel (127.0.0.1), server GC, Production, configured from the same environment as JobTrail.Host.dll; " +
                         "with capture off `ActivityCaptureBehavior` still runs but has nothing to record. The ratio on/off is the cost of the capture (one more INSERT round trip " +
                         "in the command's transaction, plus describing the activity).");
        return report;
    }
}
