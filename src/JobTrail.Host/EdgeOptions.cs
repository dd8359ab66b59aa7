using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace JobTrail.Host;

/// <summary><c>JobTrail:Limits</c>, bound and validated at start-up.</summary>
internal sealed class LimitsOptions
{
    public const string Section = "JobTrail:Limits";

    /// <summary>The body cap of an endpoint that declares none (the batch endpoint declares its own).</summary>
    [Range(1024L, 1L << 30, ErrorMessage = "JobTrail__Limits__MaxBodyBytes must be between 1024 and 1073741824 bytes.")]
    public long MaxBodyBytes { get; set; } = 1L << 20;
}

/// <summary><c>JobTrail:Https</c>: for deployments that terminate TLS in JobTrail; behind a TLS proxy leave both off.</summary>
internal sealed class HttpsOptions
{
    public const string Section = "JobTrail:Https";

    public bool Redirect { get; set; }

    public bool Hsts { get; set; }
}

internal static class EdgeRegistration
{
    public static IServiceCollection AddJobTrailEdgeOptions(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HttpsOptions>().BindConfiguration(HttpsOptions.Section).ValidateOnStart();
        // Reading the list is the check: an entry that is neither an address nor a network throws, naming it.
        services.AddOptions<TrustedProxyOptions>()
            .BindConfiguration(TrustedProxyOptions.Section)
            .Validate(o => TrustedProxies.From(o) is not null)
            .ValidateOnStart();
        services.AddSingleton(sp => TrustedProxies.From(sp.GetRequiredService<IOptions<TrustedProxyOptions>>().Value));
        services.AddOptions<ForwardedHeadersOptions>().Configure<TrustedProxies>((options, proxies) => proxies.Apply(options));
        return services;
    }
}
