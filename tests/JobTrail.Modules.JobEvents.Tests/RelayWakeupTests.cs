using System.Runtime.ExceptionServices;
using JobTrail.Modules.JobEvents.Relay;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class RelayWakeupTests
{
    [Fact]
    public void Signalling_a_relay_that_is_already_signalled_throws_nothing_internally()
    {
        var wakeup = new RelayWakeup();
        var thread = Environment.CurrentManagedThreadId;
        var thrown = 0;
        // The group writer signals after every commit: a caught exception per commit is CPU spent on every group.
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == thread)
            {
                Interlocked.Increment(ref thrown);
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            for (var i = 0; i < 10; i++)
            {
                wakeup.Signal();
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.Equal(0, thrown);
    }

    [Fact]
    public async Task Many_signals_before_a_wait_are_one_wake_up()
    {
        var wakeup = new RelayWakeup();
        wakeup.Signal();
        wakeup.Signal();
        wakeup.Signal();

        Assert.True(await wakeup.WaitAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.False(await wakeup.WaitAsync(TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public async Task A_signal_after_a_wake_up_wakes_the_next_wait()
    {
        var wakeup = new RelayWakeup();
        wakeup.Signal();
        Assert.True(await wakeup.WaitAsync(TimeSpan.Zero, CancellationToken.None));

        var waiting = wakeup.WaitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        wakeup.Signal();

        Assert.True(await waiting);
    }
}
