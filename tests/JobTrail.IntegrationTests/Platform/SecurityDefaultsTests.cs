using System.Data.Common;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>When armed, turns the next EF query into one PostgreSQL rejects, with a table name and a value that must not leak.</summary>
internal sealed class DatabaseFault : DbCommandInterceptor
{
    public const string Table = "jobtrail_no_such_table_for_tests";
    public const string Secret = "leak-me-7c1d";

    private int armed;

    public void Arm() => Interlocked.Exchange(ref armed, 1);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref armed, 0) == 1)
        {
            command.CommandText = $"select * from {Table} where secret = '{Secret}'";
        }

        return ValueTask.FromResult(result);
    }

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<DatabaseFault>();
        services.AddSingleton<IInterceptor>(sp => sp.GetRequiredService<DatabaseFault>());
    }
}

public sealed class DatabaseFaultFixture() : JobTrailFixture(settings: null, DatabaseFault.Register);

/// <summary>The same, with the host in the Development environment, where frameworks like to show details.</summary>
public sealed class DevelopmentDatabaseFaultFixture() : JobTrailFixture(new Dictionary<string, string?> { ["environment"] = "Development" }, DatabaseFault.Register);

/// <summary>HTTPS redirection and HSTS switched on, as for a deployment that terminates TLS itself.</summary>
public sealed class HttpsFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Https:Redirect"] = "true",
        ["JobTrail:Https:Hsts"] = "true",
        ["https_port"] = "443",
    },
    null);

/// <summary>The defaults a deployment gets without configuring anything, and what the HTTPS switches change.</summary>
public sealed class SecurityDefaultsTests(DatabaseFaultFixture fixture) : IClassFixture<DatabaseFaultFixture>
{
    [Fact]
    public async Task A_database_error_is_a_500_problem_without_sql_stack_trace_or_types()
    {
        await AssertNoLeakAsync(fixture);
    }

    [Fact]
    public async Task Cors_is_off_a_preflight_gets_no_allow_origin()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/runner-jobs");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        using var simple = new HttpRequestMessage(HttpMethod.Get, "/api/runner-jobs");
        simple.Headers.Add("Origin", "https://evil.example");

        var preflightResponse = await fixture.Client().SendAsync(preflight);
        var simpleResponse = await fixture.Client().SendAsync(simple);

        Assert.NotEqual(System.Net.HttpStatusCode.NoContent, preflightResponse.StatusCode);
        foreach (var response in new[] { preflightResponse, simpleResponse })
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
            Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
            Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
        }
    }

    [Fact]
    public async Task Responses_carry_the_conservative_headers_and_no_server_banner()
    {
        var response = await fixture.Client().GetAsync("/api/runner-jobs");

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task By_default_there_is_no_https_redirect_and_no_hsts()
    {
        var http = fixture.App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var https = fixture.App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri("https://jobtrail.example") });

        var plain = await http.GetAsync("/health/live");
        var secure = await https.GetAsync("/health/live");

        Assert.Equal(System.Net.HttpStatusCode.OK, plain.StatusCode);
        Assert.False(secure.Headers.Contains("Strict-Transport-Security"));
    }

    internal static async Task AssertNoLeakAsync(JobTrailFixture fixture)
    {
        fixture.App.Services.GetRequiredService<DatabaseFault>().Arm();

        var response = await fixture.Client().GetJsonAsync("/api/runner-jobs");

        response.EnsureProblem(500, "internal_error");
        foreach (var leak in new[] { DatabaseFault.Table, DatabaseFault.Secret, "select", "Npgsql", "Postgres", "42P01", "Exception", " at ", "JobTrail.", ".cs" })
        {
            Assert.DoesNotContain(leak, response.Body, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(
            ["code", "correlationId", "detail", "instance", "status", "title", "traceId", "type"],
            response.Json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        // The next request is served normally: the fault was one query, not a broken host.
        (await fixture.Client().GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
    }
}

public sealed class DevelopmentErrorTests(DevelopmentDatabaseFaultFixture fixture) : IClassFixture<DevelopmentDatabaseFaultFixture>
{
    [Fact]
    public async Task Even_in_development_a_database_error_shows_no_internals()
    {
        Assert.Equal("Development", fixture.App.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostEnvironment>().EnvironmentName);
        await SecurityDefaultsTests.AssertNoLeakAsync(fixture);
    }
}

public sealed class HttpsSwitchTests(HttpsFixture fixture) : IClassFixture<HttpsFixture>
{
    [Fact]
    public async Task Switched_on_plain_http_is_redirected_and_https_answers_carry_hsts()
    {
        var http = fixture.App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri("http://jobtrail.example") });
        var https = fixture.App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri("https://jobtrail.example") });

        var plain = await http.GetAsync("/health/live");
        var secure = await https.GetAsync("/health/live");

        Assert.Equal(System.Net.HttpStatusCode.TemporaryRedirect, plain.StatusCode);
        Assert.Equal("https://jobtrail.example/health/live", plain.Headers.Location!.ToString());
        Assert.Equal(System.Net.HttpStatusCode.OK, secure.StatusCode);
        Assert.StartsWith("max-age=31536000", secure.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
    }
}
