using CaStorage.Core;
using CaStorage.State;

namespace CaStorage.State.Tests;

public sealed class LockRulesTests
{
    [Theory]
    [InlineData(0UL, 10UL, 5UL, 10UL, true)]
    [InlineData(0UL, 10UL, 10UL, 10UL, false)]   // adjacent ranges do not overlap
    [InlineData(0UL, 10UL, 9UL, 1UL, true)]
    [InlineData(5UL, 0UL, 0UL, 10UL, true)]      // zero-length inside a range
    [InlineData(0UL, 0UL, 0UL, 10UL, false)]     // zero-length at the start is not inside
    [InlineData(5UL, 0UL, 5UL, 0UL, false)]      // zero-length locks never overlap each other
    [InlineData(ulong.MaxValue, 1UL, ulong.MaxValue, 1UL, true)]
    public void Overlaps_Matrix(ulong ao, ulong al, ulong bo, ulong bl, bool expected)
    {
        Assert.Equal(expected, LockRules.Overlaps(ao, al, bo, bl));
        Assert.Equal(expected, LockRules.Overlaps(bo, bl, ao, al));
    }

    [Theory]
    // heldExclusive, sameOpen, requestExclusive, conflict
    [InlineData(false, false, false, false)]
    [InlineData(false, false, true, true)]
    [InlineData(true, false, false, true)]
    [InlineData(true, true, false, false)]   // the owner may take a shared lock inside its exclusive one
    [InlineData(true, true, true, true)]
    [InlineData(false, true, true, true)]
    public void LockConflicts_Matrix(bool heldEx, bool same, bool reqEx, bool conflict)
        => Assert.Equal(conflict, LockRules.LockConflicts(heldEx, same, new LockRange(0, 10, reqEx), 0, 10));

    [Theory]
    // heldExclusive, sameOpen, write, conflict
    [InlineData(true, false, false, true)]
    [InlineData(true, true, false, false)]
    [InlineData(false, false, false, false)]
    [InlineData(false, false, true, true)]
    [InlineData(false, true, true, true)]   // a shared lock makes the range read-only even for its owner
    [InlineData(true, true, true, false)]
    public void IoConflicts_Matrix(bool heldEx, bool same, bool write, bool conflict)
        => Assert.Equal(conflict, LockRules.IoConflicts(heldEx, same, write, 0, 10, 5, 10));

    [Fact]
    public void Range_PastTwoToThe64_IsInvalid()
    {
        Assert.False(new LockRange(ulong.MaxValue, 2, true).IsValid);
        Assert.True(new LockRange(ulong.MaxValue, 1, true).IsValid);
        Assert.True(new LockRange(ulong.MaxValue, 0, true).IsValid);
    }
}

public sealed class FileActorLockTests
{
    private static readonly FileKey File = new("share", 7);
    private static readonly OpenId A = new(1), B = new(2);

    private static async Task<IFileStateService> TwoOpensAsync()
    {
        var svc = FileStateServices.CreateLocal();
        foreach (var id in new[] { A, B })
            await svc.OpenAsync(new OpenRequest { File = File, Open = id, Access = AccessMask.FileReadData | AccessMask.FileWriteData, Share = ShareAccess.All }, default);
        return svc;
    }

    [Fact]
    public async Task Lock_IsAllOrNothing()
    {
        var svc = await TwoOpensAsync();
        Assert.Equal(NtStatus.Success, await svc.LockAsync(File, A, [new LockRange(100, 10, true)], true, default));
        var st = await svc.LockAsync(File, B, [new LockRange(0, 10, true), new LockRange(105, 1, true)], true, default);
        Assert.Equal(NtStatus.LockNotGranted, st);
        // The first range of the refused request was not taken either.
        Assert.Equal(NtStatus.Success, await svc.LockAsync(File, A, [new LockRange(0, 10, true)], true, default));
    }

    [Fact]
    public async Task BlockingLock_WaitsUntilUnlock()
    {
        var svc = await TwoOpensAsync();
        await svc.LockAsync(File, A, [new LockRange(0, 10, true)], true, default);
        var waiting = svc.LockAsync(File, B, [new LockRange(5, 1, true)], false, default).AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(NtStatus.Success, await svc.UnlockAsync(File, A, [new LockRange(0, 10, true)]));
        Assert.Equal(NtStatus.Success, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task BlockingLock_Cancelled_ReturnsCancelled_AndCloseEndsOthersWithRangeNotLocked()
    {
        var svc = await TwoOpensAsync();
        await svc.LockAsync(File, A, [new LockRange(0, 10, true)], true, default);
        using var cts = new CancellationTokenSource();
        var w1 = svc.LockAsync(File, B, [new LockRange(0, 1, true)], false, cts.Token).AsTask();
        cts.Cancel();
        Assert.Equal(NtStatus.Cancelled, await w1.WaitAsync(TimeSpan.FromSeconds(5)));
        var w2 = svc.LockAsync(File, B, [new LockRange(0, 1, true)], false, default).AsTask();
        await svc.CloseAsync(File, B);
        Assert.Equal(NtStatus.RangeNotLocked, await w2.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Close_ReleasesLocks_AndWakesWaiters()
    {
        var svc = await TwoOpensAsync();
        await svc.LockAsync(File, A, [new LockRange(0, 10, false)], true, default);
        var waiting = svc.LockAsync(File, B, [new LockRange(0, 10, true)], false, default).AsTask();
        await svc.CloseAsync(File, A);
        Assert.Equal(NtStatus.Success, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Unlock_MustMatchAHeldRangeExactly()
    {
        var svc = await TwoOpensAsync();
        await svc.LockAsync(File, A, [new LockRange(0, 10, true)], true, default);
        Assert.Equal(NtStatus.RangeNotLocked, await svc.UnlockAsync(File, A, [new LockRange(0, 5, true)]));
        Assert.Equal(NtStatus.RangeNotLocked, await svc.UnlockAsync(File, B, [new LockRange(0, 10, true)]));
        Assert.Equal(NtStatus.Success, await svc.UnlockAsync(File, A, [new LockRange(0, 10, true)]));
    }

    [Fact]
    public async Task Io_IsCheckedAgainstOtherOpensLocks()
    {
        var svc = await TwoOpensAsync();
        Assert.Equal(NtStatus.Success, await svc.CheckIoAsync(File, B, 0, 10, true));
        await svc.LockAsync(File, A, [new LockRange(0, 10, true)], true, default);
        Assert.Equal(NtStatus.FileLockConflict, await svc.CheckIoAsync(File, B, 5, 1, false));
        Assert.Equal(NtStatus.FileLockConflict, await svc.CheckIoAsync(File, B, 9, 5, true));
        Assert.Equal(NtStatus.Success, await svc.CheckIoAsync(File, B, 10, 5, true));
        Assert.Equal(NtStatus.Success, await svc.CheckIoAsync(File, A, 0, 10, true));
    }
}
