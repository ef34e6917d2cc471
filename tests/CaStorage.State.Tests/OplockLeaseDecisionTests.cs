using CaStorage.Core;
using CaStorage.State;
using CaStorage.State.Actors;

namespace CaStorage.State.Tests;

/// <summary>
/// The file actor's oplock and lease decisions, scenario by scenario after the smbtorture tests that pin Windows'
/// behaviour (named in each test). No network: breaks are recorded, timers fire when the test says so.
/// </summary>
public sealed class OplockLeaseDecisionTests
{
    private static readonly FileKey File = new("share", 21);
    private static readonly Guid Client1 = Guid.NewGuid(), Client2 = Guid.NewGuid();
    private const AccessMask ReadWrite = AccessMask.FileReadData | AccessMask.FileWriteData;
    private const AccessMask StatAccess = AccessMask.FileReadAttributes | AccessMask.Synchronize;
    private readonly RecordingNotifier _notes = new();
    private readonly ManualTime _time = new();
    private readonly IFileStateService _svc;

    public OplockLeaseDecisionTests() => _svc = FileStateServices.CreateLocal(_notes, _time);

    private static OpenRequest Oplock(ulong id, byte level, AccessMask access = ReadWrite, ShareAccess share = ShareAccess.All, bool truncates = false) => new()
    {
        File = File, Open = new OpenId(id), Access = access, Share = share, RequestedOplock = level, Truncates = truncates,
    };

    private static OpenRequest Leased(ulong id, LeaseId lease, LeaseState state, AccessMask access = ReadWrite, ShareAccess share = ShareAccess.All,
        bool truncates = false, bool directory = false) => new()
    {
        File = File, Open = new OpenId(id), Access = access, Share = share, Truncates = truncates, IsDirectory = directory,
        RequestedOplock = OplockLevel.Lease, Lease = new LeaseRequest(lease, state, 2, Guid.Empty, 0),
    };

    private Task<OpenDecision> Start(OpenRequest r) => _svc.OpenAsync(r, default).AsTask();

    private static async Task<OpenDecision> Done(Task<OpenDecision> t) => await t.WaitAsync(TimeSpan.FromSeconds(5));

    [Fact]
    public void StatOpens_AreThoseWithoutDataOrSecurityAccess()
    {
        Assert.True(FileActor.IsOplockStatOpen(StatAccess | AccessMask.FileWriteAttributes));
        Assert.False(FileActor.IsOplockStatOpen(StatAccess | AccessMask.ReadControl)); // smb2.oplock.statopen1
        Assert.True(FileActor.IsLeaseStatOpen(StatAccess | AccessMask.ReadControl));   // smb2.lease.statopen4
        Assert.False(FileActor.IsLeaseStatOpen(AccessMask.FileReadEa));
        Assert.False(FileActor.IsOplockStatOpen(0));
    }

    [Fact]
    public async Task SharingConflict_BreaksBatchToLevelII_ThenIsASharingViolation()
    {
        // smb2.oplock.batch1/batch5: a batch holder only loses handle caching to an open that it blocks.
        await _svc.OpenAsync(Oplock(1, OplockLevel.Batch, share: ShareAccess.None), default);
        var second = Start(Oplock(2, OplockLevel.None, AccessMask.Delete));
        await Task.Delay(20);
        Assert.False(second.IsCompleted);
        Assert.Equal((new OpenId(1), OplockLevel.LevelII), Assert.Single(_notes.Oplocks));
        Assert.Equal((NtStatus.Success, OplockLevel.LevelII), await _svc.AckOplockAsync(File, new OpenId(1), OplockLevel.LevelII));
        Assert.Equal(OpenOutcome.SharingViolation, (await Done(second)).Outcome);
        // A level II holder has nothing left to give up for a share conflict: no break, an immediate violation.
        Assert.Equal(OpenOutcome.SharingViolation, (await _svc.OpenAsync(Oplock(3, OplockLevel.None, AccessMask.Delete), default)).Outcome);
        Assert.Single(_notes.Oplocks);
    }

    [Fact]
    public async Task StatOpen_BreaksNothing_AndGetsNoOplockBesideWriteCaching()
    {
        // smb2.oplock.exclusive4, batch8, batch9a.
        await _svc.OpenAsync(Oplock(1, OplockLevel.Exclusive), default);
        var d = await _svc.OpenAsync(Oplock(2, OplockLevel.Exclusive, StatAccess), default);
        Assert.Equal(OplockLevel.None, d.Oplock);
        Assert.Empty(_notes.Oplocks);
    }

    [Fact]
    public async Task StatOpen_AloneGetsItsOplock_AndANormalOpenBreaksItToLevelII()
    {
        // smb2.oplock.batch9.
        Assert.Equal(OplockLevel.Batch, (await _svc.OpenAsync(Oplock(1, OplockLevel.Batch, StatAccess), default)).Oplock);
        var second = Start(Oplock(2, OplockLevel.Batch));
        await Task.Delay(20);
        Assert.Equal((new OpenId(1), OplockLevel.LevelII), Assert.Single(_notes.Oplocks));
        await _svc.AckOplockAsync(File, new OpenId(1), OplockLevel.LevelII);
        Assert.Equal(OplockLevel.LevelII, (await Done(second)).Oplock);
    }

    [Fact]
    public async Task ReadEaOpen_IsNoStatOpen_AndBreaksABatchOplock()
    {
        // smb2.oplock.statopen1: only SYNCHRONIZE and the attribute rights make a stat open.
        await _svc.OpenAsync(Oplock(1, OplockLevel.Batch), default);
        var second = Start(Oplock(2, OplockLevel.None, AccessMask.FileReadEa));
        await Task.Delay(20);
        Assert.Equal((new OpenId(1), OplockLevel.LevelII), Assert.Single(_notes.Oplocks));
        await _svc.AckOplockAsync(File, new OpenId(1), OplockLevel.LevelII);
        Assert.Equal(OpenOutcome.Granted, (await Done(second)).Outcome);
    }

    [Fact]
    public async Task LeaseUpgrade_TakesOnlyAStrictSuperset_GrantedInFull()
    {
        // smb2.lease.upgrade, upgrade2, upgrade3.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        Assert.Equal(LeaseState.ReadHandle, (await _svc.OpenAsync(Leased(1, l1, LeaseState.ReadHandle), default)).Lease!.State);
        Assert.Equal(LeaseState.ReadHandle, (await _svc.OpenAsync(Leased(2, l1, LeaseState.ReadWrite), default)).Lease!.State);
        Assert.Equal(LeaseState.All, (await _svc.OpenAsync(Leased(3, l1, LeaseState.All), default)).Lease!.State);
        Assert.Equal(LeaseState.All, (await _svc.OpenAsync(Leased(4, l1, LeaseState.ReadHandle), default)).Lease!.State);

        // Beside another lease RHW is not holdable, so nothing changes (not even the H part).
        var l2 = new LeaseId(Client2, Guid.NewGuid());
        var other = new FileKey("share", 22);
        await _svc.OpenAsync(Leased(5, l2, LeaseState.Read) with { File = other }, default);
        var l3 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Leased(6, l3, LeaseState.Read) with { File = other }, default);
        Assert.Equal(LeaseState.Read, (await _svc.OpenAsync(Leased(7, l3, LeaseState.All) with { File = other }, default)).Lease!.State);
        Assert.Equal(LeaseState.ReadHandle, (await _svc.OpenAsync(Leased(8, l3, LeaseState.ReadHandle) with { File = other }, default)).Lease!.State);
        Assert.Empty(_notes.Leases);
    }

    [Fact]
    public async Task LeaseBreak_LoweredWhileBreaking_ContinuesOneStepPerAck()
    {
        // smb2.lease.breaking3: RWH -> RH is outstanding when an overwrite asks for none; the client hears RH -> R
        // (ack required), then R -> none (no ack), and both waiting opens then proceed.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Leased(1, l1, LeaseState.All), default);
        var plain = Start(Oplock(2, OplockLevel.None));
        var overwrite = Start(Oplock(3, OplockLevel.None, truncates: true));
        await Task.Delay(20);
        Assert.Equal((l1, LeaseState.All, LeaseState.ReadHandle, true), Assert.Single(_notes.Leases));

        Assert.Equal(NtStatus.Success, await _svc.AckLeaseAsync(l1, LeaseState.ReadHandle));
        Assert.Equal((l1, LeaseState.ReadHandle, LeaseState.Read, true), _notes.Leases[^1]);
        Assert.False(plain.IsCompleted);
        Assert.False(overwrite.IsCompleted);

        Assert.Equal(NtStatus.Success, await _svc.AckLeaseAsync(l1, LeaseState.Read));
        Assert.Equal((l1, LeaseState.Read, LeaseState.None, false), _notes.Leases[^1]);
        Assert.Equal(OpenOutcome.Granted, (await Done(plain)).Outcome);
        Assert.Equal(OpenOutcome.Granted, (await Done(overwrite)).Outcome);
        Assert.Equal(3, _notes.Leases.Count);
    }

    [Fact]
    public async Task SharingConflict_TakesOnlyHandleCachingFromALease()
    {
        // smb2.lease.break_twice: RWH -> RW for the blocked open, RW -> R for the next one.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Leased(1, l1, LeaseState.All), default);
        var blocked = Start(Leased(2, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All, share: ShareAccess.Read));
        await Task.Delay(20);
        Assert.Equal((l1, LeaseState.All, LeaseState.ReadWrite, true), Assert.Single(_notes.Leases));
        await _svc.AckLeaseAsync(l1, LeaseState.ReadWrite);
        Assert.Equal(OpenOutcome.SharingViolation, (await Done(blocked)).Outcome);

        var next = Start(Leased(3, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All));
        await Task.Delay(20);
        Assert.Equal((l1, LeaseState.ReadWrite, LeaseState.Read, true), _notes.Leases[^1]);
        await _svc.AckLeaseAsync(l1, LeaseState.Read);
        Assert.Equal(LeaseState.ReadHandle, (await Done(next)).Lease!.State);
    }

    [Fact]
    public async Task LeaseBreakTimeout_LeavesTheLeaseWithNothing_AndALateAckIsRefused()
    {
        // smb2.lease.timeout.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Leased(1, l1, LeaseState.All), default);
        var second = Start(Leased(2, new LeaseId(Client2, Guid.NewGuid()), LeaseState.All));
        await Task.Delay(20);
        _time.FireAll();
        Assert.Equal(LeaseState.ReadHandle, (await Done(second)).Lease!.State);
        Assert.Equal(NtStatus.Unsuccessful, await _svc.AckLeaseAsync(l1, LeaseState.ReadHandle));
        Assert.Equal(LeaseState.None, (await _svc.OpenAsync(Leased(3, l1, LeaseState.None), default)).Lease!.State);
    }

    [Fact]
    public async Task OplocksAndLeases_DoNotShareHandleCaching()
    {
        // smb2.lease.oplock: an oplock beside an RH lease gets nothing; a lease beside an oplock gets no H.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        await _svc.OpenAsync(Leased(1, l1, LeaseState.ReadHandle), default);
        Assert.Equal(OplockLevel.None, (await _svc.OpenAsync(Oplock(2, OplockLevel.Batch), default)).Oplock);

        var other = new FileKey("share", 23);
        await _svc.OpenAsync(Oplock(3, OplockLevel.LevelII) with { File = other }, default);
        var d = await _svc.OpenAsync(Leased(4, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All) with { File = other }, default);
        Assert.Equal(LeaseState.Read, d.Lease!.State);
        Assert.Empty(_notes.Leases);
    }

    [Fact]
    public async Task PlainOpenWithoutOplock_CostsWriteCachingButNotHandleCaching()
    {
        await _svc.OpenAsync(Oplock(1, OplockLevel.None), default);
        var d = await _svc.OpenAsync(Leased(2, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All), default);
        Assert.Equal(LeaseState.ReadHandle, d.Lease!.State);
    }

    [Fact]
    public async Task StatOpenWithoutCaching_DoesNotCostWriteCaching()
    {
        // smb2.lease.statopen3.
        await _svc.OpenAsync(Oplock(1, OplockLevel.None, StatAccess), default);
        var d = await _svc.OpenAsync(Leased(2, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All), default);
        Assert.Equal(LeaseState.All, d.Lease!.State);
    }

    [Fact]
    public async Task Directory_GetsNeitherLeaseNorOplock()
    {
        // smb2.lease.request: no directory leasing is offered.
        var d = await _svc.OpenAsync(Leased(1, new LeaseId(Client1, Guid.NewGuid()), LeaseState.All, directory: true), default);
        Assert.Equal(OpenOutcome.Granted, d.Outcome);
        Assert.Equal(OplockLevel.None, d.Oplock);
        Assert.Null(d.Lease);
    }

    [Fact]
    public async Task Rename_ThroughALease_WaitsUntilOtherLeasesGiveUpHandleCaching()
    {
        // smb2.lease.v2_rename, rename_wait.
        var l1 = new LeaseId(Client1, Guid.NewGuid());
        var l2 = new LeaseId(Client2, Guid.NewGuid());
        await _svc.OpenAsync(Leased(1, l1, LeaseState.ReadHandle, ReadWrite | AccessMask.Delete), default);
        await _svc.OpenAsync(Leased(2, l2, LeaseState.ReadHandle), default);
        var rename = _svc.CheckRenameAsync(File, new OpenId(1)).AsTask();
        await Task.Delay(20);
        Assert.False(rename.IsCompleted);
        Assert.Equal((l2, LeaseState.ReadHandle, LeaseState.Read, true), Assert.Single(_notes.Leases));
        await _svc.AckLeaseAsync(l2, LeaseState.Read);
        Assert.Equal(NtStatus.Success, await rename.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task SizeChange_EndsReadCaching_TheChangersOwnLevelIIToo()
    {
        // smb2.oplock.batch11/batch12: set-EOF or allocation through a path open.
        await _svc.OpenAsync(Oplock(1, OplockLevel.LevelII), default);
        await _svc.OpenAsync(Oplock(2, OplockLevel.LevelII), default);
        await _svc.BreakReadCachingAsync(File, new OpenId(2));
        Assert.Contains((new OpenId(1), OplockLevel.None), _notes.Oplocks);
        Assert.Contains((new OpenId(2), OplockLevel.None), _notes.Oplocks);
    }
}
