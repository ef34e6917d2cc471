using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>The connection-level FSCTLs (no file handle): VALIDATE_NEGOTIATE_INFO and QUERY_NETWORK_INTERFACE_INFO.</summary>
internal static partial class IoctlHandler
{
    /// <summary>VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12): a mismatch means tampering: the connection is dropped.</summary>
    private static NtStatus ValidateNegotiate(SmbConnection c, ReadOnlySpan<byte> input, uint maxOut, ResponseBuffer o)
    {
        if (c.Dialect == SmbDialect.Smb311) throw new SmbConnectionErrorException("VALIDATE_NEGOTIATE_INFO on SMB 3.1.1");
        if (input.Length < 24) return NtStatus.InvalidParameter;
        if (maxOut < 24) return NtStatus.InvalidParameter;
        var caps = BinaryPrimitives.ReadUInt32LittleEndian(input);
        var guid = new Guid(input.Slice(4, 16));
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(input[20..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(input[22..]);
        if (input.Length < 24 + count * 2) return NtStatus.InvalidParameter;
        var dialects = new ushort[count];
        for (var i = 0; i < count; i++) dialects[i] = BinaryPrimitives.ReadUInt16LittleEndian(input[(24 + i * 2)..]);
        if (caps != c.ClientCapabilities || guid != c.ClientGuid || mode != c.ClientSecurityMode || !dialects.SequenceEqual(c.ClientDialects))
            throw new SmbConnectionErrorException("VALIDATE_NEGOTIATE_INFO mismatch");
        o.U32(c.ServerCapabilities);
        o.Guid(c.Server.Settings.ServerGuid);
        o.U16(c.ServerSecurityMode);
        o.U16(c.Dialect);
        return NtStatus.Success;
    }

    /// <summary>
    /// NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5) for the address this connection arrived on. The request carries no
    /// input (Samba: anything else is STATUS_INVALID_PARAMETER).
    /// </summary>
    private static NtStatus QueryInterfaces(SmbConnection c, ReadOnlySpan<byte> input, uint maxOut, ResponseBuffer o)
    {
        if (!input.IsEmpty) return NtStatus.InvalidParameter;
        if (c.LocalEndPoint is not IPEndPoint ep) return NtStatus.NotSupported;
        if (maxOut < 152) return NtStatus.BufferTooSmall;
        o.U32(0);              // Next
        o.U32(1);              // IfIndex
        o.U32(0);              // Capability: neither RSS nor RDMA
        o.U32(0);
        o.U64(10_000_000_000); // LinkSpeed: 10 Gb/s
        var sa = o.Reserve(128);
        if (ep.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, 0x2);
            BinaryPrimitives.WriteUInt16BigEndian(sa[2..], 0);
            ep.Address.TryWriteBytes(sa[4..], out _);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, 0x17);
            ep.Address.TryWriteBytes(sa[8..], out _);
        }
        return NtStatus.Success;
    }
}
