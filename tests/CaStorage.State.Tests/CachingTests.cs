using CaStorage.Core;
using CaStorage.State;

namespace CaStorage.State.Tests;

/// <summary>Records breaks instead of sending them.</summary>
internal sealed class RecordingNotifier : IClientNotifier
{
    public List<(OpenId Open, byte Level)> Oplocks { get; } = [];
    public List<(LeaseId Lease, LeaseState From, LeaseState To, bool Ack)> Leases { get; } = [];
    public void OplockBreak(string owner, OpenId open, byte newLevel) { lock (this) Oplocks.Add((open, newLevel)); }
    public void LeaseBreak(string owner, LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version)
    { lock (this) Leases.Add((lease, current, newState, ackRequired)); }
}

/// <summary>A clock whose timers fire only when the test says so.</summary>
internal sealed class ManualTime : TimeProvider
{
    private readonly List<(TimerCallback Cb, object? State)> _timers = [];
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_timers) _timers.Add((callback, state));
        return new T();
    }
    public void FireAll()
    {
        List<(TimerCallback, object?)> all;
        lock (_timers) { all = [.. _timers]; _timers.Clear(); }
        foreach (var (cb, st) in all) cb(st);
    }
    private sealed class T : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

public sealed class CachingTests
{
    private static readonly FileKey File = new("share", 11);
    private static readonly Guid Client1 = Guid.NewGuid(), Client2 = Guid.NewGuid();
    private readonly RecordingNotifier _notes = new();
    private readonly ManualTime _time = new();
    private readonly IFileStateService _svc;

    public CachingTests() => _svc = FileStateServices.CreateLocal(_notes, _time);

    private static OpenRequest Open(ulong id, LeaseId? lease = null, LeaseState state = LeaseState.All, byte oplock = 0,
        AccessMask access = AccessMask.FileReadData | AccessMask.FileWriteData, ShareAccess share = ShareAccess.All, FileKey? file = null) => new()
    {
        File = file ?? File, Open = new OpenId(id), Access = access, Share = share,
        RequestedOplock = lease is null ? oplock : OplockLevel.Lease,
        Lease = lease is { } l ? new LeaseRequest(l, state, 2, Guid.Empty, 0) : null,
    };

    [Fact]
    public async Task FirstOpen_GetsTheRequestedLease_OrItsValidPart()
    {
        var d = await _svc.OpenAsync(Open(1, new LeaseId(Client1, Guid.NewGuid())), default);
        Assert.Equal(LeaseState.All, d.Lease!.State);
        var h = await _svc.OpenAsync(Open(2, new LeaseId(Client2, Guid.NewGuid()), LeaseState.Handle, file: new FileKey("share", 12)), default);
        Assert.Equal(LeaseState.None, h.Lease!.State); // "H" alone is not a valid lease state
    }

    [Fact]
    public async Task SecondClient_BreaksWriteCaching_AndWaitsForTheAck()
    {
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Open(1, l1), default);
        var second = _svc.OpenAsync(Open(2, new LeaseId(Client2, Guid.NewGuid())), default).AsTask();
        await Task.Delay(20);
        Assert.False(second.IsCompleted);
        var b = Assert.Single(_notes.Leases);
        Assert.Equal((l1, LeaseState.All, LeaseState.ReadHandle, true), b);
        Assert.Equal(NtStatus.Success, await _svc.AckLeaseAsync(l1, LeaseState.ReadHandle));
        var d = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(OpenOutcome.Granted, d.Outcome);
        Assert.Equal(LeaseState.ReadHandle, d.Lease!.State); // no write caching beside another client
    }

    [Fact]
    public async Task SameLeaseKey_SharesTheLease_WithoutBreaks()
    {
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Open(1, l1), default);
        var d = await _svc.OpenAsync(Open(2, l1), default);
        Assert.Equal(LeaseState.All, d.Lease!.State);
        Assert.Empty(_notes.Leases);
    }

    [Fact]
    public async Task LeaseKey_OnAnotherFile_IsInvalidParameter()
    {
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Open(1, l1), default);
        var d = await _svc.OpenAsync(Open(2, l1, file: new FileKey("share", 99)), default);
        Assert.Equal(OpenOutcome.InvalidParameter, d.Outcome);
    }

    [Fact]
    public async Task SharingConflict_BreaksHandleCachingFirst_ThenFailsIfTheHolderKeepsItsOpen()
    {
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Open(1, l1, share: ShareAccess.None), default);
        var second = _svc.OpenAsync(Open(2, new LeaseId(Client2, Guid.NewGuid())), default).AsTask();
        await Task.Delay(20);
        Assert.False(second.IsCompleted);
        // Only handle caching stands in the way of a share mode: write caching stays (smb2.lease.break_twice).
        Assert.Equal(LeaseState.ReadWrite, Assert.Single(_notes.Leases).To);
        await _svc.AckLeaseAsync(l1, LeaseState.ReadWrite);
        Assert.Equal(OpenOutcome.SharingViolation, (await second.WaitAsync(TimeSpan.FromSeconds(5))).Outcome);
    }

    [Fact]
    public async Task BatchOplock_BreaksToLevelII_AndAnUnansweredBreakTimesOut()
    {
        var first = await _svc.OpenAsync(Open(1, oplock: OplockLevel.Batch), default);
        Assert.Equal(OplockLevel.Batch, first.Oplock);
        var second = _svc.OpenAsync(Open(2, oplock: OplockLevel.Batch), default).AsTask();
        await Task.Delay(20);
        Assert.Equal((new OpenId(1), OplockLevel.LevelII), Assert.Single(_notes.Oplocks));
        _time.FireAll(); // the holder never acknowledges
        var d = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(OpenOutcome.Granted, d.Outcome);
        Assert.Equal(OplockLevel.LevelII, d.Oplock);
    }

    [Fact]
    public async Task Write_DropsEveryLevelII_TheWritersOwnToo_WithoutAck()
    {
        await _svc.OpenAsync(Open(1, oplock: OplockLevel.LevelII), default);
        await _svc.OpenAsync(Open(2, oplock: OplockLevel.LevelII), default);
        Assert.Equal(NtStatus.Success, await _svc.CheckIoAsync(File, new OpenId(2), 0, 10, write: true));
        // Windows breaks the writer's own level II as well (smb2.oplock.batch1, batch6, levelii500).
        Assert.Contains((new OpenId(1), OplockLevel.None), _notes.Oplocks);
        Assert.Contains((new OpenId(2), OplockLevel.None), _notes.Oplocks);
        Assert.Equal(NtStatus.InvalidOplockProtocol, (await _svc.AckOplockAsync(File, new OpenId(2), OplockLevel.None)).Status);
    }

    [Fact]
    public async Task Ack_WithoutABreak_IsRefused()
    {
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Open(1, l1), default);
        Assert.Equal(NtStatus.Unsuccessful, await _svc.AckLeaseAsync(l1, LeaseState.Read));
        Assert.Equal(NtStatus.InvalidOplockProtocol, (await _svc.AckOplockAsync(File, new OpenId(1), OplockLevel.None)).Status);
    }
}
