using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>What a CREATE asks about durability: a new durable open (DHnQ / DH2Q), or a reconnect (DHnC / DH2C).</summary>
internal sealed record DurableAsk
{
    public static readonly DurableAsk None = new();
    /// <summary>0 none, 1 DHnQ, 2 DH2Q.</summary>
    public int RequestVersion { get; init; }
    /// <summary>0 none, 1 DHnC, 2 DH2C.</summary>
    public int ReconnectVersion { get; init; }
    public uint TimeoutMs { get; init; }
    public bool PersistentFlag { get; init; }
    public Guid CreateGuid { get; init; }
    public ulong PersistentFileId { get; init; }
    public Guid AppInstanceId { get; init; }
    /// <summary>Contexts other than the reconnect itself, the lease and an ignored DHnQ (Samba refuses them on a reconnect).</summary>
    public bool HasOtherContexts { get; init; }
}

/// <summary>
/// MS-SMB2 2.2.13.2.3/4/11/12 and 2.2.13.2.13 (App Instance Id): parsing and the rules about which may appear
/// together (3.3.5.9.6/7/10/12), checked before anything is opened.
/// </summary>
internal static class DurableContexts
{
    public const uint DhandleFlagPersistent = 0x2;
    /// <summary>SMB2_CREATE_APP_INSTANCE_ID's name is a 16-byte GUID, {45BCA66A-EFA7-F74A-9008-FA462E144D74}.</summary>
    internal static readonly string AppInstanceIdTag = System.Text.Encoding.Latin1.GetString(
        [0x45, 0xBC, 0xA6, 0x6A, 0xEF, 0xA7, 0xF7, 0x4A, 0x90, 0x08, 0xFA, 0x46, 0x2E, 0x14, 0x4D, 0x74]);

    /// <summary>Durable v2 timeout when the client leaves it to the server (Windows Server 2012, Samba: 60 s), and its cap.</summary>
    internal const uint DefaultV2TimeoutMs = 60_000, MaxV2TimeoutMs = 300_000;
    /// <summary>Durable v1 handles are kept 16 minutes (Windows, Samba).</summary>
    internal const uint V1TimeoutMs = 16 * 60_000;

    public static NtStatus Parse(ReadOnlySpan<byte> s, List<CreateHandler.CreateContext> contexts, ushort dialect, out DurableAsk ask)
    {
        ask = DurableAsk.None;
        CreateHandler.CreateContext? dhnq = null, dhnc = null, dh2q = null, dh2c = null, app = null;
        foreach (var x in contexts)
        {
            switch (x.Name)
            {
                case "DHnQ": dhnq = x; break;
                case "DHnC": dhnc = x; break;
                case "DH2Q" when SmbDialect.Is3x(dialect): dh2q = x; break;
                case "DH2C" when SmbDialect.Is3x(dialect): dh2c = x; break;
                default:
                    if (x.Name == AppInstanceIdTag && SmbDialect.Is3x(dialect)) app = x;
                    break;
            }
        }
        if (dhnq is null && dhnc is null && dh2q is null && dh2c is null) return NtStatus.Success;
        // Not both kinds at once (MS-SMB2 3.3.5.9.7/10/12).
        if (dhnc is not null && dh2c is not null || dhnc is not null && dh2q is not null
            || dh2c is not null && dhnq is not null || dh2q is not null && dh2c is not null)
            return NtStatus.InvalidParameter;

        var others = contexts.Count(x => x.Name is not ("DHnQ" or "DHnC" or "DH2C" or "RqLs"));
        if (dhnc is not null)
        {
            if (dhnc.DataLength != 16) return NtStatus.InvalidParameter;
            ask = new DurableAsk
            {
                ReconnectVersion = 1,
                PersistentFileId = BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(dhnc.DataStart, 8)),
                HasOtherContexts = others > 0,
            };
            return NtStatus.Success;
        }
        if (dh2c is not null)
        {
            if (dh2c.DataLength != 36) return NtStatus.InvalidParameter;
            var d = s.Slice(dh2c.DataStart, 36);
            ask = new DurableAsk
            {
                ReconnectVersion = 2,
                PersistentFileId = BinaryPrimitives.ReadUInt64LittleEndian(d),
                CreateGuid = new Guid(d.Slice(16, 16)),
                PersistentFlag = (BinaryPrimitives.ReadUInt32LittleEndian(d[32..]) & DhandleFlagPersistent) != 0,
                HasOtherContexts = others > 0 || dhnq is not null,
            };
            return NtStatus.Success;
        }
        var appId = Guid.Empty;
        // SMB2_CREATE_APP_INSTANCE_ID: StructureSize(2) = 20, Reserved(2), AppInstanceId(16).
        if (app is not null && app.DataLength >= 20 && BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(app.DataStart, 2)) == 20)
            appId = new Guid(s.Slice(app.DataStart + 4, 16));
        if (dhnq is not null)
        {
            if (dhnq.DataLength != 16) return NtStatus.InvalidParameter;
            if (dh2q is not null) return NtStatus.InvalidParameter;
            ask = new DurableAsk { RequestVersion = 1, TimeoutMs = V1TimeoutMs };
            return NtStatus.Success;
        }
        if (dh2q!.DataLength != 32) return NtStatus.InvalidParameter;
        var q = s.Slice(dh2q.DataStart, 32);
        var timeout = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(q), MaxV2TimeoutMs);
        ask = new DurableAsk
        {
            RequestVersion = 2,
            TimeoutMs = timeout == 0 ? DefaultV2TimeoutMs : timeout,
            PersistentFlag = (BinaryPrimitives.ReadUInt32LittleEndian(q[4..]) & DhandleFlagPersistent) != 0,
            CreateGuid = new Guid(q.Slice(16, 16)),
            AppInstanceId = appId,
        };
        return NtStatus.Success;
    }
}
