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

    /// <summary>
    /// Put in front of a keyset read that must walk an index in order across a partitioned table
    /// (<c>order by … limit n</c> after a cursor): the rest of its implicit or explicit transaction plans
    /// without sorts. With stale statistics (the newest rows are always past the histogram) PostgreSQL
    /// estimates a row or two after the cursor and prefers appending the partitions and sorting them to
    /// a merge of their ordered index scans; when a backlog lies after the cursor it then sorts the whole
    /// backlog for every page (measured: 7.2 s to read 1,000 rows after a 10 M-row backlog, 0.8 ms with the
    /// index order kept). A setting local to the transaction, in a DO block so that it returns no result
    /// set and raises no warning outside a transaction block.
    /// </summary>
    public const string KeepIndexOrder = "do $$begin perform set_config('enable_sort', 'off', true); end$$";

    /// <summary>A batch command of <see cref="KeepIndexOrder"/>.</summary>
    public static NpgsqlBatchCommand KeepIndexOrderCommand() => new(KeepIndexOrder);
}
