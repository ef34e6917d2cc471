using CaStorage.Core;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using CaStorage.State;
using CaStorage.State.Inspection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.Admin.Tests;

/// <summary>
/// An admin service over a real state tier (file actors) and a scripted wire layer: the sessions and opens a
/// node would report, whose state-tier half is really granted in the actors.
/// </summary>
internal sealed class AdminFixture
{
    public static readonly FileKey File = new("share", 7);
    public static readonly OpenId OpenA = new(0x42);
    public static readonly OpenId OpenB = new(0x43);
    public static readonly LeaseId LeaseB = new(Guid.Parse("11111111-2222-3333-4444-555555555555"), Guid.Parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));

    public IFileStateService State { get; } = FileStateServices.CreateLocal();
    public FakeSessions Sessions { get; }
    public FakeShares Shares { get; } = new();
    public HealthService Health { get; } = new();
    public AdminService Service { get; }

    public AdminFixture()
    {
        Sessions = new FakeSessions(State);
        Service = new AdminService(new AdminNode("node-1", ["127.0.0.1:445"], "127.0.0.1:4460", DateTimeOffset.UnixEpoch, "test"),
            Sessions, (IFileStateInspector)State, Shares, () => [new("Signing:Required", "false")], Health, NullLoggerFactory.Instance);
    }

    public static AdminService CreateService() => new AdminFixture().Service;

    /// <summary>Two opens of one file: A holds two byte-range locks, B an RH lease.</summary>
    public async Task OpenFileAsync()
    {
        var a = await State.OpenAsync(new OpenRequest { File = File, Open = OpenA, Access = AccessMask.FileReadData | AccessMask.FileWriteData, Share = ShareAccess.Read | ShareAccess.Write, Owner = "c1" }, default);
        Assert.Equal(OpenOutcome.Granted, a.Outcome);
        Assert.Equal(NtStatus.Success, await State.LockAsync(File, OpenA, [new LockRange(0, 10, true), new LockRange(100, 5, false)], true, default));
        var b = await State.OpenAsync(new OpenRequest
        {
            File = File, Open = OpenB, Access = AccessMask.FileReadData, Share = ShareAccess.Read | ShareAccess.Write, Owner = "c2",
            RequestedOplock = OplockLevel.Lease, Lease = new LeaseRequest(LeaseB, LeaseState.ReadHandle, 2, Guid.Empty, 0),
        }, default);
        Assert.Equal(OpenOutcome.Granted, b.Outcome);
        Sessions.Opens.Add(View(OpenA, 1, "dir/a.txt", OplockLevel.None, null));
        Sessions.Opens.Add(View(OpenB, 2, "dir/a.txt", OplockLevel.Lease, LeaseB));
    }

    private static OpenView View(OpenId id, ulong session, string path, byte oplock, LeaseId? lease) =>
        new(id, id.Value + 1000, session, 1, "share", path, "alice", "10.0.0.1:50000", AccessMask.FileReadData, oplock, lease, File, false, false, false, false);

    public async Task<GrpcTestHost> StartAsync(AdminAuthorizer? auth = null)
    {
        var table = new GrpcMethodTable();
        Service.MapTo(table);
        Health.MapTo(table);
        return await GrpcTestHost.StartAsync(table, auth is null ? null : auth.Authorize);
    }

    internal sealed class FakeSessions(IFileStateService state) : ISessionDirectory
    {
        public List<SessionView> SessionList { get; } = [];
        public List<OpenView> Opens { get; } = [];
        public bool Draining { get; set; }
        public int ConnectionCount => SessionList.Count;

        public IReadOnlyList<SessionView> ListSessions() => SessionList.ToArray();
        public IReadOnlyList<TreeConnectView> ListTreeConnects() => [];
        public IReadOnlyList<OpenView> ListOpens() => Opens.ToArray();

        public async ValueTask<OpenView?> CloseOpenAsync(OpenId open)
        {
            var view = Opens.FirstOrDefault(o => o.Id == open);
            if (view is null) return null;
            Opens.Remove(view);
            await state.CloseAsync(view.File, open);
            return view;
        }

        public ValueTask<LogoffResult?> LogoffAsync(ulong sessionId)
        {
            var s = SessionList.FirstOrDefault(x => x.Id == sessionId);
            if (s is null) return ValueTask.FromResult<LogoffResult?>(null);
            SessionList.Remove(s);
            return ValueTask.FromResult<LogoffResult?>(new LogoffResult(s, 3));
        }
    }

    internal sealed class FakeShares : IShareCatalog
    {
        public List<ShareDefinition> Items { get; } = [new("share", "/srv/share", ["posix"], new Dictionary<string, string>(), false, false, false)];
        public IReadOnlyList<ShareDefinition> List() => Items.ToArray();
        public ShareDefinition Add(ShareDefinition share) => throw new ShareValidationException($"share '{share.Name}': unknown VFS module '{share.Vfs[0]}'");
        public ShareDefinition Set(ShareDefinition share) => throw new KeyNotFoundException($"no share '{share.Name}'");
        public int? Remove(string name) => null;
    }
}
