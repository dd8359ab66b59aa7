using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using Carter;
using JobTrail.Host;
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
    .AddCheck<ValkeyReadinessCheck>("valkey", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
var trustedProxies = TrustedProxies.FromConfiguration(configuration);
builder.Services.Configure<ForwardedHeadersOptions>(trustedProxies.Apply);
builder.Services.AddJobTrailRateLimiting();
builder.AddJobTrailObservability();
builder.Services.AddHsts(o => o.MaxAge = TimeSpan.FromDays(365));
builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);

var app = builder.Build();

// X-Forwarded-* count only when the operator named proxies (empty lists mean "everyone" to the
// middleware), and only from a peer: with none (TestServer, a Unix socket) nobody vouches for them.
if (trustedProxies.Any)
{
    app.UseWhen(http => http.Connection.RemoteIpAddress is not null, branch => branch.UseForwardedHeaders());
}
app.UseMiddleware<CorrelationIdMiddleware>();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<SecurityHeadersMiddleware>();
// For deployments that terminate TLS here; behind a TLS proxy leave these off (the default).
if (configuration.GetValue("JobTrail:Https:Redirect", false))
{
    app.UseHttpsRedirection();
}

if (configuration.GetValue("JobTrail:Https:Hsts", false))
{
    app.UseHsts();
}

app.UseSwaggerUI(o =>
{
    o.RoutePrefix = "swagger";
    o.SwaggerEndpoint("/openapi/v1.json", "JobTrail v1");
});
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

// Every bound setting is checked here, before the first connection: a bad one stops start-up naming its variable.
app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();

var database = app.Services.GetRequiredService<DatabaseOptions>();
if (database.UsesOneRole)
{
    app.Logger.LogWarning("JobTrail:PostgresOwner is not set or names the service role: the service then owns its tables and row-level security rests on FORCE alone. Use a separate owner role in production.");
}

// Fails here, before anything is written, when no integrity key is configured outside Development.
var integrity = app.Services.GetRequiredService<IntegrityKeyRing>();
if (integrity.IsGenerated)
{
    app.Logger.LogWarning("JobTrail:Integrity:Key is not set: this {Environment} instance signs its hash chains with a throw-away key ({KeyId}), so what it records now will not verify after a restart. Set JobTrail__Integrity__Key (scripts/run.sh does).", app.Environment.EnvironmentName, integrity.Current.Id);
}

await app.Services.GetRequiredService<SqlMigrator>().MigrateAsync();
await app.Services.BootstrapAccessAsync();

await app.RunAsync();

/// <summary>Entry point; public so the integration tests can host it.</summary>
public partial class Program;
