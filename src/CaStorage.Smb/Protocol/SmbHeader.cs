using System.Buffers.Binary;
using CaStorage.Core;

namespace CaStorage.Smb.Protocol;

/// <summary>
/// MS-SMB2 2.2.1 SMB2 packet header (sync and async forms), 64 bytes.
/// <code>
///  0 ProtocolId 0xFE 'S' 'M' 'B' | 4 StructureSize(64) | 6 CreditCharge | 8 Status / ChannelSequence
/// 12 Command | 14 CreditRequest/Response | 16 Flags | 20 NextCommand | 24 MessageId
/// 32 Reserved(ProcessId) + TreeId  -or-  AsyncId (8) | 40 SessionId | 48 Signature (16)
/// </code>
/// </summary>
internal struct SmbHeader
{
    public const int Size = 64;
    public const int SignatureOffset = 48;
    public const uint ProtocolId = 0x424D53FE; // 0xFE 'S' 'M' 'B' little-endian

    public ushort CreditCharge;
    public uint Status; // request: ChannelSequence (low 16 bits) + reserved
    public SmbCommand Command;
    public ushort Credits;
    public SmbFlags Flags;
    public uint NextCommand;
    public ulong MessageId;
    public uint ProcessId;
    public uint TreeId;
    public ulong AsyncId;
    public ulong SessionId;

    public readonly bool IsAsync => (Flags & SmbFlags.AsyncCommand) != 0;
    public readonly bool IsRelated => (Flags & SmbFlags.RelatedOperations) != 0;
    public readonly bool IsSigned => (Flags & SmbFlags.Signed) != 0;
    public readonly ushort ChannelSequence => (ushort)Status;

    public static bool TryRead(ReadOnlySpan<byte> s, out SmbHeader h)
    {
        h = default;
        if (s.Length < Size || BinaryPrimitives.ReadUInt32LittleEndian(s) != ProtocolId) return false;
        if (BinaryPrimitives.ReadUInt16LittleEndian(s[4..]) != 64) return false;
        h.CreditCharge = BinaryPrimitives.ReadUInt16LittleEndian(s[6..]);
        h.Status = BinaryPrimitives.ReadUInt32LittleEndian(s[8..]);
        h.Command = (SmbCommand)BinaryPrimitives.ReadUInt16LittleEndian(s[12..]);
        h.Credits = BinaryPrimitives.ReadUInt16LittleEndian(s[14..]);
        h.Flags = (SmbFlags)BinaryPrimitives.ReadUInt32LittleEndian(s[16..]);
        h.NextCommand = BinaryPrimitives.ReadUInt32LittleEndian(s[20..]);
        h.MessageId = BinaryPrimitives.ReadUInt64LittleEndian(s[24..]);
        if (h.IsAsync)
        {
            h.AsyncId = BinaryPrimitives.ReadUInt64LittleEndian(s[32..]);
        }
        else
        {
            h.ProcessId = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
            h.TreeId = BinaryPrimitives.ReadUInt32LittleEndian(s[36..]);
        }
        h.SessionId = BinaryPrimitives.ReadUInt64LittleEndian(s[40..]);
        return true;
    }

    /// <summary>Writes a response header; the signature field is zeroed.</summary>
    public readonly void Write(Span<byte> s, NtStatus status)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s, ProtocolId);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], CreditCharge);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)status);
        BinaryPrimitives.WriteUInt16LittleEndian(s[12..], (ushort)Command);
        BinaryPrimitives.WriteUInt16LittleEndian(s[14..], Credits);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], NextCommand);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], MessageId);
        if (IsAsync)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[32..], AsyncId);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[32..], ProcessId);
            BinaryPrimitives.WriteUInt32LittleEndian(s[36..], TreeId);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(s[40..], SessionId);
        s.Slice(48, 16).Clear();
    }
}
