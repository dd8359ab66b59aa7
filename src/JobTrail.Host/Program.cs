using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using Carter;
using JobTrail.Host;
using JobTrail.Host.Ui;
using JobTrail.Modules.Access;
using JobTrail.Modules.Access.Contracts;
using JobTrail.Modules.JobEvents;
using JobTrail.Modules.Activity;
using JobTrail.Modules.JobSteps;
using JobTrail.Modules.RunnerJobs;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;

var builder = WebApplication.CreateBuilder(args);
var configuration = builder.Configuration;

builder.Services.AddBuildingBlocks(configuration);
builder.Services.AddAccessModule(configuration);
builder.Services.AddRunnerJobsModule(configuration);
builder.Services.AddJobStepsModule(configuration);
builder.Services.AddJobEventsModule(configuration);
builder.Services.AddActivityModule(configuration);
builder.Services.AddJobTrailMediator();
builder.Services.AddJobTrailCarter();

builder.Services.ConfigureHttpJsonOptions(o => JsonDefaults.Apply(o.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddJobTrailProblemDetails();
builder.Services.AddAuthorizationBuilder()
    .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(AccessAuthentication.Scheme)
        .RequireAuthenticatedUser().Build());
builder.Services.AddOpenApi(OpenApiDescription.Configure);
builder.Services.AddHealthChecks()
    .AddCheck<PostgresReadinessCheck>("postgres", tags: ["ready"])
    .AddCheck<ValkeyReadinessCheck>("valkey", failureStatus: HealthStatus.Degraded, tags: ["ready"])
    .AddCheck<ReplicaReadinessCheck>("postgres_replica", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
builder.Services.AddJobTrailRateLimiting();
builder.Services.AddJobTrailEdgeOptions();
builder.AddJobTrailObservability();
builder.Services.AddHsts(o => o.MaxAge = TimeSpan.FromDays(365));
builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);

var app = builder.Build();

// Every bound setting is checked here, before the first connection: a bad one stops start-up naming its
// variable, as one line and an exit code, not as a crash with a stack trace.
IntegrityKeyRing integrity;
try
{
    app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
    // Outside Development an integrity key is required; a missing or malformed one stops start-up here.
    integrity = app.Services.GetRequiredService<IntegrityKeyRing>();
}
catch (Microsoft.Extensions.Options.OptionsValidationException e) when (StartupFailure.InOwnProcess)
{
    return StartupFailure.Report(e.Failures);
}
catch (InvalidOperationException e) when (StartupFailure.InOwnProcess)
{
    return StartupFailure.Report(e.Message);
}

var database = app.Services.GetRequiredService<DatabaseOptions>();
if (database.UsesOneRole)
{
    app.Logger.LogWarning("JobTrail:PostgresOwner is not set or names the service role: the service then owns its tables and row-level security rests on FORCE alone. Use a separate owner role in production.");
}

// X-Forwarded-* count only when the operator named proxies (empty lists mean "everyone" to the
// middleware), and only from a peer: with none (TestServer, a Unix socket) nobody vouches for them.
if (app.Services.GetRequiredService<TrustedProxies>().Any)
{
    app.UseWhen(http => http.Connection.RemoteIpAddress is not null, branch => branch.UseForwardedHeaders());
}
app.UseMiddleware<CorrelationIdMiddleware>();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<SecurityHeadersMiddleware>();
// For deployments that terminate TLS here; behind a TLS proxy leave these off (the default).
var https = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpsOptions>>().Value;
if (https.Redirect)
{
    app.UseHttpsRedirection();
}

if (https.Hsts)
{
    app.UseHsts();
}

app.UseSwaggerUI(o =>
{
    o.RoutePrefix = "swagger";
    o.SwaggerEndpoint("/openapi/v1.json", "JobTrail v1");
});
app.UseDashboardAssets();
app.UseAuthentication();
app.UseRateLimiter();
app.UseAuthorization();
app.UseMiddleware<RequestBodyLimitMiddleware>();
app.UseMiddleware<RequestTextMiddleware>();

app.MapOpenApi().AllowAnonymous();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
app.MapHealthChecks("/health/ready", new HealthCheckOptions
{
    Predicate = check => check.Tags.Contains("ready"),
    ResponseWriter = HealthResponse.WriteAsync,
    ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status200OK },
}).AllowAnonymous();
app.MapCarter();
app.MapAccessSessions();
app.MapDashboard();

if (integrity.IsGenerated)
{
    app.Logger.LogWarning("JobTrail:Integrity:Key is not set: this {Environment} instance signs its hash chains with a throw-away key ({KeyId}), so what it records now will not verify after a restart. Set JobTrail__Integrity__Key (scripts/run.sh does).", app.Environment.EnvironmentName, integrity.Current.Id);
}

await app.Services.GetRequiredService<SqlMigrator>().MigrateAsync();
await app.Services.BootstrapAccessAsync();

await app.RunAsync();
return 0;

/// <summary>Entry point; public so the integration tests can host it.</summary>
public partial class Program;
