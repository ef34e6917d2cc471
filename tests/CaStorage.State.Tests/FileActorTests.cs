using CaStorage.Core;
using CaStorage.State;

namespace CaStorage.State.Tests;

public sealed class FileActorTests
{
    private static readonly FileKey File = new("share", 42);

    private static OpenRequest Req(ulong id, AccessMask access, ShareAccess share, bool doc = false) => new()
    {
        File = File, Open = new OpenId(id), Access = access, Share = share, DeleteOnClose = doc,
    };

    [Fact]
    public async Task Open_SecondWriterWithoutSharing_GetsSharingViolation()
    {
        var svc = FileStateServices.CreateLocal();
        Assert.Equal(OpenOutcome.Granted, (await svc.OpenAsync(Req(1, AccessMask.FileWriteData, ShareAccess.Read), default)).Outcome);
        Assert.Equal(OpenOutcome.SharingViolation, (await svc.OpenAsync(Req(2, AccessMask.FileWriteData, ShareAccess.All), default)).Outcome);
        Assert.Equal(OpenOutcome.Granted, (await svc.OpenAsync(Req(3, AccessMask.FileReadData, ShareAccess.All), default)).Outcome);
    }

    [Fact]
    public async Task Close_ReleasesShareMode()
    {
        var svc = FileStateServices.CreateLocal();
        await svc.OpenAsync(Req(1, AccessMask.FileWriteData, ShareAccess.None), default);
        var closed = await svc.CloseAsync(File, new OpenId(1));
        Assert.True(closed.WasLast);
        Assert.False(closed.DeleteNow);
        Assert.Equal(OpenOutcome.Granted, (await svc.OpenAsync(Req(2, AccessMask.FileWriteData, ShareAccess.None), default)).Outcome);
    }

    [Fact]
    public async Task DeleteOnClose_DeletesAtLastClose_AndBlocksNewOpensMeanwhile()
    {
        var svc = FileStateServices.CreateLocal();
        await svc.OpenAsync(Req(1, AccessMask.Delete | AccessMask.FileReadData, ShareAccess.All, doc: true), default);
        await svc.OpenAsync(Req(2, AccessMask.FileReadData, ShareAccess.All), default);
        var first = await svc.CloseAsync(File, new OpenId(1));
        Assert.False(first.DeleteNow); // another open remains
        Assert.Equal(OpenOutcome.DeletePending, (await svc.OpenAsync(Req(3, AccessMask.FileReadData, ShareAccess.All), default)).Outcome);
        var last = await svc.CloseAsync(File, new OpenId(2));
        Assert.True(last.DeleteNow);
        await svc.FileDeletedAsync(File);
        Assert.Equal(0, svc.ActiveFileCount);
    }

    [Fact]
    public async Task SetDeletePending_ThenClear_AllowsOpensAgain()
    {
        var svc = FileStateServices.CreateLocal();
        await svc.OpenAsync(Req(1, AccessMask.Delete, ShareAccess.All), default);
        Assert.Equal(NtStatus.Success, await svc.SetDeletePendingAsync(File, new OpenId(1), true));
        Assert.True(await svc.IsDeletePendingAsync(File));
        Assert.Equal(OpenOutcome.DeletePending, (await svc.OpenAsync(Req(2, AccessMask.FileReadData, ShareAccess.All), default)).Outcome);
        Assert.Equal(NtStatus.Success, await svc.SetDeletePendingAsync(File, new OpenId(1), false));
        Assert.Equal(OpenOutcome.Granted, (await svc.OpenAsync(Req(2, AccessMask.FileReadData, ShareAccess.All), default)).Outcome);
    }

    [Fact]
    public async Task Rename_BlockedByOpenThatDoesNotShareDelete()
    {
        var svc = FileStateServices.CreateLocal();
        await svc.OpenAsync(Req(1, AccessMask.Delete, ShareAccess.All), default);
        await svc.OpenAsync(Req(2, AccessMask.FileReadData, ShareAccess.Read | ShareAccess.Write | ShareAccess.Delete), default);
        Assert.Equal(NtStatus.Success, await svc.CheckRenameAsync(File, new OpenId(1)));
        // Open 3 is refused: open 1 holds DELETE and 3 does not share delete; so rename stays allowed.
        Assert.Equal(OpenOutcome.SharingViolation, (await svc.OpenAsync(Req(3, AccessMask.FileReadData, ShareAccess.Read | ShareAccess.Write), default)).Outcome);
        Assert.Equal(NtStatus.Success, await svc.CheckRenameAsync(File, new OpenId(1)));
        // A stat-like open without sharing delete but with no data access never blocks.
        await svc.OpenAsync(Req(4, AccessMask.FileReadAttributes, ShareAccess.None), default);
        Assert.Equal(NtStatus.Success, await svc.CheckRenameAsync(File, new OpenId(1)));
    }

    [Fact]
    public async Task ManyConcurrentOpensAndCloses_LeaveNoActorsBehind()
    {
        var svc = FileStateServices.CreateLocal(16);
        var tasks = Enumerable.Range(0, 64).Select(async t =>
        {
            for (var i = 0; i < 200; i++)
            {
                var key = new FileKey("s", (ulong)(i % 7));
                var id = new OpenId((ulong)(t * 1000 + i + 1));
                var d = await svc.OpenAsync(new OpenRequest { File = key, Open = id, Access = AccessMask.FileReadData, Share = ShareAccess.All }, default);
                Assert.Equal(OpenOutcome.Granted, d.Outcome);
                await svc.CloseAsync(key, id);
            }
        });
        await Task.WhenAll(tasks);
        Assert.Equal(0, svc.ActiveFileCount);
    }
}
