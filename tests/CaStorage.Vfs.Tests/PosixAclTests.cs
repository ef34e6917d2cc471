using CaStorage.Core;
using CaStorage.Core.Security;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

/// <summary>The posix module enforces stored NT security descriptors at open and create, for two users of one share.</summary>
public sealed class PosixAclTests : IAsyncLifetime
{
    private static readonly NtIdentityMap Identities = new(Sid.Parse("S-1-5-21-10-20-30"),
        new Dictionary<string, uint> { ["alice"] = 1001, ["bob"] = 1002 });
    private static readonly SecurityToken AliceToken = Identities.TokenFor("alice");
    private static readonly SecurityToken BobToken = Identities.TokenFor("bob");
    private static CancellationToken Ct => CancellationToken.None;

    private TempShare _share = null!;
    private VfsTreeContext _alice = null!;
    private VfsTreeContext _bob = null!;

    public async Task InitializeAsync()
    {
        _share = TempShare.Create();
        var stack = _share.Build(["posix"]);
        _alice = await TempShare.ConnectAsync(stack, new VfsUser("alice", "D") { Token = AliceToken });
        _bob = await TempShare.ConnectAsync(stack, new VfsUser("bob", "D") { Token = BobToken });
    }

    public async Task DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        await _share.DisposeAsync();
    }

    private static Ace Allow(Sid sid, AccessMask mask, AceFlags flags = AceFlags.None) => new(AceType.AccessAllowed, flags, mask, sid);

    private static byte[] Dacl(params Ace[] aces) => new SecurityDescriptor
    {
        Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
        Dacl = new Acl(aces),
    }.ToSelfRelative(SecurityInformation.Dacl);

    private static async Task SetDaclAsync(VfsTreeContext tree, string path, bool directory, params Ace[] aces)
    {
        var f = await tree.OpenOkAsync(path, options: directory ? CreateOptions.DirectoryFile : CreateOptions.None, access: AccessMask.WriteDac);
        Assert.Equal(NtStatus.Success, await tree.Ops.SetSecurityAsync(f, (uint)SecurityInformation.Dacl, Dacl(aces), Ct));
        await tree.Ops.CloseAsync(f);
    }

    private static async Task<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, string path, AccessMask access,
        CreateDisposition disposition = CreateDisposition.Open, CreateOptions options = CreateOptions.None, SecurityDescriptor? creator = null)
    {
        var r = await tree.Ops.OpenAsync(tree, new VfsOpenRequest
        {
            Path = path,
            Disposition = disposition,
            Options = options,
            Access = access,
            CreatorDescriptor = creator,
        }, Ct);
        if (r.IsSuccess) await tree.Ops.CloseAsync(r.Value!.File);
        return r;
    }

    [Fact]
    public async Task PrivateDirectory_ShutsOutOtherUsers_ButNotItsOwner()
    {
        await _alice.CreateDirectoryAsync("private");
        await SetDaclAsync(_alice, "private", directory: true, Allow(AliceToken.User, AccessMask.FileAllAccess, AceFlags.ObjectInherit | AceFlags.ContainerInherit));

        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "private", AccessMask.FileReadData, options: CreateOptions.DirectoryFile)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "private\\b.txt", AccessMask.FileGenericWrite, CreateDisposition.Create)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "private\\sub", AccessMask.FileReadData, CreateDisposition.Create, CreateOptions.DirectoryFile)).Status);
        Assert.False(File.Exists(_share.InRoot("private/b.txt")));

        var created = await OpenAsync(_alice, "private\\a.txt", AccessMask.FileGenericWrite, CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, created.Status);
        Assert.Equal(AccessMask.FileGenericWrite, created.Value!.GrantedAccess);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "private\\a.txt", AccessMask.FileReadData)).Status);
        // FILE_READ_ATTRIBUTES comes with the path (MS-FSA 2.1.5.1.2.1), as in Samba.
        Assert.Equal(NtStatus.Success, (await OpenAsync(_bob, "private\\a.txt", AccessMask.FileReadAttributes)).Status);
    }

    [Fact]
    public async Task Delete_IsGrantedByTheParentsDeleteChild_AsInDeleteOnClosePerms()
    {
        const AccessMask noDelete = (AccessMask)0x001E01BF; // smb2.delete-on-close-perms: everything but DELETE and DELETE_CHILD
        await _alice.CreateDirectoryAsync("doc");
        await SetDaclAsync(_alice, "doc", directory: true, Allow(AliceToken.User, noDelete, AceFlags.ObjectInherit));
        const AccessMask perms = AccessMask.Synchronize | AccessMask.ReadControl | AccessMask.Delete | AccessMask.FileWriteAttributes
            | AccessMask.FileReadAttributes | AccessMask.FileWriteEa | AccessMask.FileAppendData | AccessMask.FileWriteData;

        // A new file: the creator gets what it asks for, DELETE included.
        Assert.Equal(NtStatus.Success, (await OpenAsync(_alice, "doc\\f.dat", perms, CreateDisposition.OverwriteIf)).Status);
        // The existing file's inherited ACE lacks DELETE and the directory lacks DELETE_CHILD.
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_alice, "doc\\f.dat", perms, CreateDisposition.OverwriteIf, CreateOptions.DeleteOnClose)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_alice, "doc\\f.dat", AccessMask.Delete)).Status);
        Assert.Equal(NtStatus.Success, (await OpenAsync(_alice, "doc\\f.dat", perms & ~AccessMask.Delete)).Status);

        await SetDaclAsync(_alice, "doc", directory: true, Allow(AliceToken.User, noDelete | AccessMask.Delete | AccessMask.FileDeleteChild));
        var open = await OpenAsync(_alice, "doc\\f.dat", AccessMask.Delete);
        Assert.Equal(NtStatus.Success, open.Status);
        Assert.Equal(AccessMask.Delete, open.Value!.GrantedAccess);
    }

    [Fact]
    public async Task MaximumAllowed_ResolvesAgainstTheDescriptor()
    {
        await _alice.CreateFileAsync("ro.txt", "data");
        await SetDaclAsync(_alice, "ro.txt", directory: false, Allow(BobToken.User, AccessMask.FileGenericRead), Allow(AliceToken.User, AccessMask.FileAllAccess));

        var r = await _bob.Ops.OpenAsync(_bob, new VfsOpenRequest { Path = "ro.txt", Disposition = CreateDisposition.Open, Access = AccessMask.MaximumAllowed }, Ct);
        Assert.Equal(NtStatus.Success, r.Status);
        // The share root (no stored descriptor: Everyone full control) grants DELETE_CHILD, hence DELETE.
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.Delete, r.Value!.GrantedAccess);
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.Delete, r.Value.MaximalAccess);
        Assert.Equal(NtStatus.AccessDenied, (await _bob.Ops.WriteAsync(r.Value.File, 0, new byte[] { 1 }, false, Ct)).Status);
        await _bob.Ops.CloseAsync(r.Value.File);

        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "ro.txt", AccessMask.MaximumAllowed | AccessMask.FileWriteData)).Status);
        // Overwriting needs FILE_WRITE_DATA even when the request does not ask for it.
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "ro.txt", AccessMask.FileReadData, CreateDisposition.Overwrite)).Status);
        Assert.Equal(AccessMask.FileAllAccess, (await OpenAsync(_alice, "ro.txt", AccessMask.MaximumAllowed)).Value!.GrantedAccess);
    }

    [Fact]
    public async Task EmptyDacl_LeavesTheOwnerReadControlAndWriteDac_NullDaclOpensEverything()
    {
        await _alice.CreateFileAsync("nulldacl.txt");
        await SetDaclAsync(_alice, "nulldacl.txt", directory: false);
        Assert.Equal(NtStatus.Success, (await OpenAsync(_alice, "nulldacl.txt", AccessMask.ReadControl | AccessMask.WriteDac)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_alice, "nulldacl.txt", AccessMask.GenericRead)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_bob, "nulldacl.txt", AccessMask.ReadControl)).Status);

        // SECURITY_INFORMATION DACL without SE_DACL_PRESENT sets a NULL DACL (smb2.create.nulldacl "set empty sd").
        var f = await _alice.OpenOkAsync("nulldacl.txt", access: AccessMask.WriteDac | AccessMask.ReadControl);
        var noDacl = new SecurityDescriptor().ToSelfRelative(SecurityInformation.Dacl);
        Assert.Equal(NtStatus.Success, await _alice.Ops.SetSecurityAsync(f, (uint)SecurityInformation.Dacl, noDacl, Ct));
        Assert.True(SecurityDescriptor.TryParse((await _alice.Ops.GetSecurityAsync(f, 0x7, Ct)).Value!, out var sd));
        Assert.True(sd.DaclPresent);
        Assert.True(sd.IsNullDacl);
        await _alice.Ops.CloseAsync(f);
        Assert.Equal(AccessMask.FileGenericWrite, (await OpenAsync(_bob, "nulldacl.txt", AccessMask.GenericWrite)).Value!.GrantedAccess);
    }

    [Fact]
    public async Task CreatorDescriptor_IsStored_AndItsOwnerMustBeAssignable()
    {
        var creator = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
            Owner = WellKnownSids.Everyone,
            Group = WellKnownSids.BuiltinUsers,
            Dacl = new Acl([Allow(WellKnownSids.Everyone, AccessMask.GenericRead | (AccessMask)0x001F0000)]),
        };
        var r = await OpenAsync(_alice, "given.txt", AccessMask.MaximumAllowed, CreateDisposition.Create, creator: creator);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(CreateAction.Created, r.Value!.Action);
        Assert.Equal(AccessMask.FileAllAccess, r.Value.GrantedAccess);
        var f = await _alice.OpenOkAsync("given.txt", access: AccessMask.ReadControl);
        Assert.True(SecurityDescriptor.TryParse((await _alice.Ops.GetSecurityAsync(f, 0x7, Ct)).Value!, out var sd));
        await _alice.Ops.CloseAsync(f);
        Assert.Equal(WellKnownSids.Everyone, sd.Owner);
        Assert.Equal(WellKnownSids.BuiltinUsers, sd.Group);
        Assert.Equal(new Acl([Allow(WellKnownSids.Everyone, AccessMask.FileGenericRead | (AccessMask)0x001F0000)]), sd.Dacl);

        var foreign = creator with { Owner = WellKnownSids.BuiltinAdministrators };
        Assert.Equal(NtStatus.InvalidOwner, (await OpenAsync(_alice, "foreign.txt", AccessMask.MaximumAllowed, CreateDisposition.Create, creator: foreign)).Status);
        Assert.False(File.Exists(_share.InRoot("foreign.txt")));
    }

    [Fact]
    public async Task SetOwner_AcceptsTheTokensOwnSids_AndTheCurrentOwner()
    {
        await _alice.CreateFileAsync("own.txt");
        var f = await _alice.OpenOkAsync("own.txt", access: AccessMask.WriteOwner | AccessMask.ReadControl);
        byte[] Owner(Sid sid) => new SecurityDescriptor { Owner = sid }.ToSelfRelative(SecurityInformation.Owner);
        Assert.Equal(NtStatus.InvalidOwner, await _alice.Ops.SetSecurityAsync(f, (uint)SecurityInformation.Owner, Owner(BobToken.User), Ct));
        Assert.Equal(NtStatus.Success, await _alice.Ops.SetSecurityAsync(f, (uint)SecurityInformation.Owner, Owner(AliceToken.User), Ct));
        Assert.Equal(NtStatus.Success, await _alice.Ops.SetSecurityAsync(f, (uint)SecurityInformation.Owner, Owner(WellKnownSids.AuthenticatedUsers), Ct));
        Assert.True(SecurityDescriptor.TryParse((await _alice.Ops.GetSecurityAsync(f, 0x1, Ct)).Value!, out var sd));
        Assert.Equal(WellKnownSids.AuthenticatedUsers, sd.Owner);
        await _alice.Ops.CloseAsync(f);
    }

    [Fact]
    public async Task MalformedStoredDescriptor_FailsClosed_ExceptForAdministrators()
    {
        await _alice.CreateFileAsync("corrupt.txt");
        using (var h = File.OpenHandle(_share.InRoot("corrupt.txt"), FileMode.Open, FileAccess.Read))
            Assert.Equal(0, Posix.LibC.FSetXattr((int)h.DangerousGetHandle(), "user.castorage.ntacl", new byte[] { 1, 0, 4, 0x80, 0xFF, 0xFF, 0, 0 }));
        Assert.Equal(NtStatus.AccessDenied, (await OpenAsync(_alice, "corrupt.txt", AccessMask.FileReadData)).Status);
        var admins = new NtIdentityMap(Identities.DomainSid, administrators: ["root"]);
        await using var root = await TempShare.ConnectAsync(_alice.Stack, new VfsUser("root", "D") { Token = admins.TokenFor("root") });
        Assert.Equal(NtStatus.Success, (await OpenAsync(root, "corrupt.txt", AccessMask.FileReadData | AccessMask.WriteDac)).Status);
    }
}
