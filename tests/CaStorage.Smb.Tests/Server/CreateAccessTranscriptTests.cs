using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Core.Security;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

/// <summary>CREATE against stored NT security descriptors, over an in-memory connection, with two users.</summary>
public sealed class CreateAccessTranscriptTests : IDisposable
{
    private readonly TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private SecurityToken TokenOf(string user) => _server.Context.Settings.Identities.TokenFor(user);

    private async Task<TestSmbClient> LoggedOnAsync(string user, string password)
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync(0x0311)).Status);
        Assert.Equal(NtStatus.Success, (await c.SessionSetupAsync(user, password)).Status);
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        return c;
    }

    /// <summary>A CREATE request with create contexts (MS-SMB2 2.2.13.2), each name 4 characters.</summary>
    private static byte[] CreateBody(string name, AccessMask access, CreateDisposition disposition, params (string Name, byte[] Data)[] contexts)
    {
        var plain = TestSmbClient.CreateBody(name, access, ShareAccess.All, disposition, CreateOptions.None);
        var nameLength = Encoding.Unicode.GetByteCount(name);
        var ctxStart = (56 + nameLength + 7) & ~7;
        var chain = new List<byte>();
        for (var i = 0; i < contexts.Length; i++)
        {
            var (n, data) = contexts[i];
            var entry = new byte[24 + data.Length];
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(4), 16);
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(6), 4);
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(10), data.Length == 0 ? (ushort)0 : (ushort)24);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), (uint)data.Length);
            Encoding.ASCII.GetBytes(n).CopyTo(entry, 16);
            data.CopyTo(entry, 24);
            var padded = i == contexts.Length - 1 ? entry.Length : (entry.Length + 7) & ~7;
            if (i < contexts.Length - 1) BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(0), (uint)padded);
            chain.AddRange(entry);
            chain.AddRange(new byte[padded - entry.Length]);
        }
        var body = new byte[ctxStart + chain.Count];
        plain.AsSpan(0, 56 + nameLength).CopyTo(body);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(48), (uint)(SmbHeader.Size + ctxStart));
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(52), (uint)chain.Count);
        chain.CopyTo(body, ctxStart);
        return body;
    }

    /// <summary>The MxAc response context's MaximalAccess, or null.</summary>
    private static AccessMask? MaximalAccessOf(TestSmbClient.Response r)
    {
        var b = r.Body;
        var off = BinaryPrimitives.ReadInt32LittleEndian(b[80..]);
        if (off == 0) return null;
        var at = off - SmbHeader.Size;
        while (true)
        {
            var next = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
            if (Encoding.ASCII.GetString(b.Slice(at + 16, 4)) == "MxAc")
                return (AccessMask)BinaryPrimitives.ReadUInt32LittleEndian(b[(at + 24 + 4)..]);
            if (next == 0) return null;
            at += next;
        }
    }

    private static async Task<SecurityDescriptor> QuerySecurityAsync(TestSmbClient c, byte[] fileId)
    {
        var body = new byte[41];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 41);
        body[2] = 3; // SMB2_0_INFO_SECURITY
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(16), (uint)(SecurityInformation.Owner | SecurityInformation.Group | SecurityInformation.Dacl));
        fileId.CopyTo(body, 24);
        var r = await c.RequestAsync(SmbCommand.QueryInfo, body);
        Assert.Equal(NtStatus.Success, r.Status);
        var off = BinaryPrimitives.ReadUInt16LittleEndian(r.Body[2..]) - SmbHeader.Size;
        var len = BinaryPrimitives.ReadInt32LittleEndian(r.Body[4..]);
        Assert.True(SecurityDescriptor.TryParse(r.Body.Slice(off, len), out var sd));
        return sd;
    }

    private static async Task<AccessMask> GrantedAccessOf(TestSmbClient c, byte[] fileId)
    {
        var r = await c.QueryInfoAsync(fileId, 1, 8); // FileAccessInformation
        Assert.Equal(NtStatus.Success, r.Status);
        return (AccessMask)BinaryPrimitives.ReadUInt32LittleEndian(r.Body[8..]);
    }

    private static byte[] FileIdOf(TestSmbClient.Response r) => r.Body.Slice(64, 16).ToArray();

    [Fact]
    public async Task SecDContext_IsStored_AndEnforcedAgainstTheOtherUser()
    {
        var alice = await LoggedOnAsync(TestServer.User, TestServer.Password);
        var bob = await LoggedOnAsync(TestServer.User2, TestServer.Password2);
        var aliceSid = TokenOf(TestServer.User).User;
        var bobSid = TokenOf(TestServer.User2).User;
        Assert.NotEqual(aliceSid, bobSid);

        var sd = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
            Dacl = new Acl(
            [
                new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, aliceSid),
                new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.GenericRead, bobSid),
            ]),
        };
        var r = await alice.RequestAsync(SmbCommand.Create, CreateBody("secd.txt", AccessMask.MaximumAllowed, CreateDisposition.Create,
            ("SecD", sd.ToSelfRelative()), ("MxAc", [])));
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(AccessMask.FileAllAccess, MaximalAccessOf(r));
        var stored = await QuerySecurityAsync(alice, FileIdOf(r));
        Assert.Equal(aliceSid, stored.Owner);
        Assert.Equal(sd.Dacl!.MapGenericRights(), stored.Dacl);
        await alice.CloseAsync(FileIdOf(r));

        Assert.Equal(NtStatus.AccessDenied, (await bob.CreateAsync("secd.txt", AccessMask.FileWriteData, disposition: CreateDisposition.Open)).R.Status);
        var rb = await bob.RequestAsync(SmbCommand.Create, CreateBody("secd.txt", AccessMask.MaximumAllowed, CreateDisposition.Open, ("MxAc", [])));
        Assert.Equal(NtStatus.Success, rb.Status);
        // The share root has no stored descriptor (Everyone full control), so DELETE comes from its DELETE_CHILD.
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.Delete, MaximalAccessOf(rb));
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.Delete, await GrantedAccessOf(bob, FileIdOf(rb)));
        Assert.Equal(NtStatus.AccessDenied, (await bob.WriteAsync(FileIdOf(rb), 0, [1])).Status);
        await bob.CloseAsync(FileIdOf(rb));
    }

    [Fact]
    public async Task SecDContext_Malformed_IsInvalidParameter_WithSacl_IsPrivilegeNotHeld_ForeignOwner_IsInvalidOwner()
    {
        var alice = await LoggedOnAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.InvalidParameter, (await alice.RequestAsync(SmbCommand.Create,
            CreateBody("bad.txt", AccessMask.GenericAll, CreateDisposition.Create, ("SecD", [1, 0, 4, 0x80, 0xFF, 0, 0, 0])))).Status);
        var withSacl = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.SaclPresent,
            Sacl = new Acl([new Ace(AceType.SystemAudit, AceFlags.FailedAccess, AccessMask.GenericAll, WellKnownSids.Everyone)]),
        };
        Assert.Equal(NtStatus.PrivilegeNotHeld, (await alice.RequestAsync(SmbCommand.Create,
            CreateBody("sacl.txt", AccessMask.GenericAll, CreateDisposition.Create, ("SecD", withSacl.ToSelfRelative())))).Status);
        var foreignOwner = new SecurityDescriptor { Owner = TokenOf(TestServer.User2).User };
        Assert.Equal(NtStatus.InvalidOwner, (await alice.RequestAsync(SmbCommand.Create,
            CreateBody("owner.txt", AccessMask.GenericAll, CreateDisposition.Create, ("SecD", foreignOwner.ToSelfRelative())))).Status);
        Assert.False(File.Exists(Path.Combine(_server.Root, "bad.txt")));
        Assert.False(File.Exists(Path.Combine(_server.Root, "sacl.txt")));
        Assert.False(File.Exists(Path.Combine(_server.Root, "owner.txt")));
    }

    [Fact]
    public async Task NewFiles_AreOwnedByTheirCreator_AndOpenToEveryoneByInheritance()
    {
        var alice = await LoggedOnAsync(TestServer.User, TestServer.Password);
        var bob = await LoggedOnAsync(TestServer.User2, TestServer.Password2);
        var (r, id) = await alice.CreateAsync("shared.txt", disposition: CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(TokenOf(TestServer.User).User, (await QuerySecurityAsync(alice, id)).Owner);
        await alice.CloseAsync(id);
        var rb = await bob.RequestAsync(SmbCommand.Create, CreateBody("shared.txt", AccessMask.GenericAll, CreateDisposition.Open, ("MxAc", [])));
        Assert.Equal(NtStatus.Success, rb.Status);
        Assert.Equal(AccessMask.FileAllAccess, MaximalAccessOf(rb));
        await bob.CloseAsync(FileIdOf(rb));
    }
}
