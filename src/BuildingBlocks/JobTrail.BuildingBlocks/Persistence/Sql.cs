using Npgsql;
using NpgsqlTypes;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>Raw statements for Npgsql batches, written one way everywhere.</summary>
public static class Sql
{
    /// <summary>A statement with positional parameters <c>$1</c>, <c>$2</c>, … in the order given.</summary>
    public static NpgsqlBatchCommand Statement(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            // Npgsql cannot infer an array of byte arrays; everything else it infers from the value.
            command.Parameters.Add(value is byte[][] bytes
                ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = bytes }
                : new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
