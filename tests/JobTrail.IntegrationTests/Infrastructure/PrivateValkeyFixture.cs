using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>A host on a Valkey server of its own, which its tests stop and start (never the shared one).</summary>
public abstract class PrivateValkeyFixture : JobTrailFixture
{
    protected PrivateValkeyFixture(
        ValkeyServer valkey, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configureServices)
        : base(new Dictionary<string, string?>(settings) { ["JobTrail:Valkey"] = valkey.Configuration }, configureServices)
    {
        Valkey = valkey;
    }

    public ValkeyServer Valkey { get; }

    public override async Task InitializeAsync()
    {
        await Valkey.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Valkey.DisposeAsync();
    }
}

/// <summary>Two instances on one database and a Valkey server of their own.</summary>
public abstract class TwoInstancesOnPrivateValkeyFixture(ValkeyServer valkey, IReadOnlyDictionary<string, string?> settings)
    : PrivateValkeyFixture(valkey, settings, null)
{
    internal JobTrailApp Other { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Other = StartAnotherInstance();
    }

    public override async Task DisposeAsync()
    {
        await Other.DisposeAsync();
        await base.DisposeAsync();
    }
}
