using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace JobTrail.Host;

/// <summary>
/// The reverse proxies whose <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are believed, from
/// <c>JobTrail:TrustedProxies</c> (addresses or CIDR networks). With none configured the forwarded
/// headers middleware is not used at all: ASP.NET Core treats empty proxy lists as "trust everyone",
/// and its default list trusts loopback, yet a client on the same host is still a client.
/// </summary>
internal sealed class TrustedProxies
{

    private TrustedProxies(IReadOnlyList<IPAddress> addresses, IReadOnlyList<System.Net.IPNetwork> networks)
    {
        Addresses = addresses;
        Networks = networks;
    }

    public IReadOnlyList<IPAddress> Addresses { get; }

    public IReadOnlyList<System.Net.IPNetwork> Networks { get; }

    public bool Any => Addresses.Count > 0 || Networks.Count > 0;

    /// <summary>Reads the setting; an entry that is neither an address nor a network throws, naming it.</summary>
    public static TrustedProxies From(TrustedProxyOptions options)
    {
        var addresses = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var (index, entry) in options.TrustedProxies)
        {
            var value = entry?.Trim();
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            if (value.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(value, out var network))
            {
                networks.Add(network);
            }
            else if (!value.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(value, out var address))
            {
                addresses.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
            }
            else
            {
                throw new InvalidOperationException(
                    $"JobTrail__TrustedProxies__{index} = '{value}' is neither an IP address nor a CIDR network (e.g. 10.0.0.5 or 10.0.0.0/8).");
            }
        }

        return new TrustedProxies(addresses, networks);
    }

    /// <summary>Only the configured proxies: the framework's loopback defaults are removed.</summary>
    public void Apply(ForwardedHeadersOptions options)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var address in Addresses)
        {
            options.KnownProxies.Add(address);
        }

        foreach (var network in Networks)
        {
            options.KnownIPNetworks.Add(network);
        }
    }
}

/// <summary><c>JobTrail:TrustedProxies:&lt;n&gt;</c>, keyed by the entry's index so that an error names its variable.</summary>
internal sealed class TrustedProxyOptions
{
    public const string Section = "JobTrail";

    public Dictionary<string, string?> TrustedProxies { get; } = new(StringComparer.Ordinal);
}
