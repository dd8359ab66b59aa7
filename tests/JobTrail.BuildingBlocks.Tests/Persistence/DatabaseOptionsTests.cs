using JobTrail.BuildingBlocks.Persistence;
using Npgsql;

namespace JobTrail.BuildingBlocks.Tests.Persistence;

public sealed class DatabaseOptionsTests
{
    private const string Base = "Host=127.0.0.1;Port=5432;Username=jobtrail_app;Password=x;Database=jobtrail";

    [Fact]
    public void Statements_are_prepared_automatically_when_the_connection_string_does_not_say()
    {
        var options = new DatabaseOptions { Postgres = Base };

        Assert.Equal(DatabaseOptions.DefaultMaxAutoPrepare, new NpgsqlConnectionStringBuilder(options.ServiceConnectionString).MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Max Auto Prepare=0", 0)]
    [InlineData("MaxAutoPrepare=10", 10)]
    [InlineData("max auto prepare=5", 5)]
    public void An_operator_s_own_setting_is_kept(string setting, int expected)
    {
        var options = new DatabaseOptions { Postgres = $"{Base};{setting}" };

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(options.ServiceConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public void The_replica_gets_the_same_default()
    {
        var options = new DatabaseOptions { Postgres = Base, PostgresReplica = Base.Replace("127.0.0.1", "127.0.0.2", StringComparison.Ordinal) };

        var replica = new NpgsqlConnectionStringBuilder(options.ReplicaConnectionString);
        Assert.Equal(DatabaseOptions.DefaultMaxAutoPrepare, replica.MaxAutoPrepare);
        Assert.Equal("127.0.0.2", replica.Host);
    }
}
