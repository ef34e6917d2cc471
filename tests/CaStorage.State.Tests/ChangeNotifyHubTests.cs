using CaStorage.State.Notify;

namespace CaStorage.State.Tests;

public sealed class ChangeNotifyHubTests
{
    [Fact]
    public async Task DirectoryBecomingDeletePending_EndsTheWaitsOnIt_Only()
    {
        // smb2.notify.rmdir1-4: Windows completes the watch of a delete-pending directory with STATUS_DELETE_PENDING.
        var hub = new ChangeNotifyHub();
        var dir = hub.Watch("share", "dir", recursive: false, NotifyFilter.FileName);
        var other = hub.Watch("share", "other", recursive: false, NotifyFilter.FileName);
        var waiting = dir.WaitAsync(default).AsTask();
        var otherWaiting = other.WaitAsync(default).AsTask();
        hub.DirectoryDeletePending("share", "\\dir");
        var batch = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(batch.DeletePending);
        Assert.False(otherWaiting.IsCompleted);
        other.Dispose();
        dir.Dispose();
    }
}
