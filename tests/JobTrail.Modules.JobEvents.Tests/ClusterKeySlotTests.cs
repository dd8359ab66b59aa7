using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Relay;

namespace JobTrail.Modules.JobEvents.Tests;

/// <summary>On a cluster a script may only touch keys of one hash slot; these compute the slots as the cluster does.</summary>
public sealed class ClusterKeySlotTests
{
    [Fact]
    public void The_slot_function_matches_the_cluster_specification()
    {
        // The specification's check value: CRC16/XMODEM of "123456789" is 0x31C3.
        Assert.Equal(0x31C3 % 16384, Slot("123456789"));
        Assert.Equal(Slot("foo"), Slot("{foo}:bar"));
        Assert.Equal(Slot("{}x"), Crc16("{}x") % 16384);
    }

    [Fact]
    public void A_jobs_stream_and_channel_hash_to_one_slot()
    {
        for (var i = 0; i < 200; i++)
        {
            var jobId = Guid.NewGuid();
            Assert.Equal(Slot(ValkeyKeys.Stream(jobId)), Slot(ValkeyKeys.Channel(jobId)));
        }
    }

    [Fact]
    public void A_workspaces_stream_leases_and_its_keys_leases_hash_to_one_slot()
    {
        for (var i = 0; i < 200; i++)
        {
            var workspaceId = Guid.NewGuid();
            Assert.Equal(Slot(SharedKeys.StreamLeases(workspaceId)), Slot(SharedKeys.StreamLeases(workspaceId, Guid.NewGuid())));
        }
    }

    [Fact]
    public void Keys_of_different_jobs_spread_over_the_slots()
    {
        var slots = Enumerable.Range(0, 200).Select(_ => Slot(ValkeyKeys.Stream(Guid.NewGuid()))).ToHashSet();
        Assert.True(slots.Count > 150, $"200 jobs share only {slots.Count} slots");
    }

    /// <summary>The cluster's HASH_SLOT: CRC16 of the key, or of its hash tag (the first non-empty <c>{…}</c>), mod 16384.</summary>
    private static int Slot(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                key = key.Substring(open + 1, close - open - 1);
            }
        }

        return Crc16(key) % 16384;
    }

    private static int Crc16(string text)
    {
        var crc = 0;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            crc ^= b << 8;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) & 0xFFFF : (crc << 1) & 0xFFFF;
            }
        }

        return crc;
    }
}
