using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace JobTrail.Client;

public static class JobTrailClientServiceCollectionExtensions
{
    /// <summary>Name of the HttpClient the factory builds for <see cref="JobTrailClient"/>.</summary>
    public const string HttpClientName = "JobTrail.Client";

    /// <summary>
    /// Registers <see cref="JobTrailClient"/> as a typed client on HttpClientFactory, with the retry
    /// pipeline (Microsoft.Extensions.Http.Resilience) described in docs/client.md.
    /// </summary>
    public static IHttpClientBuilder AddJobTrailClient(this IServiceCollection services, Action<JobTrailClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<JobTrailClientOptions>().Configure(configure).Validate(o =>
        {
            o.Validate();
            return true;
        });
        var builder = services.AddHttpClient(HttpClientName, (sp, http) => JobTrailClient.Configure(http, sp.GetRequiredService<IOptions<JobTrailClientOptions>>().Value));
        builder.AddResilienceHandler("jobtrail", (pipeline, context) =>
            JobTrailResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<JobTrailClientOptions>>().Value));
        builder.AddTypedClient(http => new JobTrailClient(http));
        return builder;
    }
}
