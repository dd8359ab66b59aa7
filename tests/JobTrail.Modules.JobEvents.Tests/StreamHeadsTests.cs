using JobTrail.Modules.JobEvents.Persistence;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class StreamHeadsTests
{
    private static readonly ChainHead Head = new(7, [1, 2, 3]);
    private static readonly Guid Workspace = Guid.CreateVersion7();

    [Fact]
    public void A_remembered_head_is_written_ahead_from_until_it_is_forgotten()
    {
        var heads = new StreamHeads();
        var job = Guid.CreateVersion7();

        heads.Set(Workspace, job, Head);

        Assert.True(heads.TryGetAhead(Workspace, job, 0, out var head));
        Assert.Equal(Head, head);
        heads.Forget(job);
        Assert.False(heads.TryGetAhead(Workspace, job, 0, out _));
        Assert.False(heads.TryGet(job, out _));
    }

    [Fact]
    public void A_job_whose_head_was_found_moved_is_not_written_ahead_for_the_quiet_period()
    {
        var heads = new StreamHeads();
        var job = Guid.CreateVersion7();
        var other = Guid.CreateVersion7();
        heads.Set(Workspace, other, Head);

        heads.Moved(job, nowMilliseconds: 1_000);
        heads.Set(Workspace, job, Head); // the group written the reading way remembers the head it left

        Assert.True(heads.TryGet(job, out _));
        Assert.False(heads.TryGetAhead(Workspace, job, 1_000 + StreamHeads.QuietMilliseconds - 1, out _));
        Assert.True(heads.TryGetAhead(Workspace, other, 1_000, out _));
        Assert.True(heads.TryGetAhead(Workspace, job, 1_000 + StreamHeads.QuietMilliseconds, out var head));
        Assert.Equal(Head, head);
        // Once the quiet period is over, the job is an ordinary one again.
        Assert.True(heads.TryGetAhead(Workspace, job, 1_000, out _));
    }

    [Fact]
    public void A_head_is_written_ahead_from_only_for_the_workspace_that_committed_it()
    {
        var heads = new StreamHeads();
        var job = Guid.CreateVersion7();
        heads.Set(Workspace, job, Head);

        Assert.False(heads.TryGetAhead(Guid.CreateVersion7(), job, 0, out _));
        heads.Forget(Guid.CreateVersion7(), job); // another workspace's refused append
        Assert.True(heads.TryGetAhead(Workspace, job, 0, out _));
        heads.Forget(Workspace, job);
        Assert.False(heads.TryGet(job, out _));
    }

    [Fact]
    public void Past_its_capacity_it_starts_again_empty()
    {
        var heads = new StreamHeads();
        var first = Guid.CreateVersion7();
        heads.Set(Workspace, first, Head);
        for (var i = 1; i < StreamHeads.Capacity; i++)
        {
            heads.Set(Workspace, Guid.CreateVersion7(), Head);
        }

        Assert.Equal(StreamHeads.Capacity, heads.Count);
        heads.Set(Workspace, first, Head with { Seq = 8 }); // a job it has: replaced, nothing dropped
        Assert.Equal(StreamHeads.Capacity, heads.Count);

        heads.Set(Workspace, Guid.CreateVersion7(), Head);

        Assert.Equal(1, heads.Count);
        Assert.False(heads.TryGet(first, out _));
    }
}
