using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Server.Handlers;
using CaStorage.Vfs;

namespace CaStorage.Smb.Protocol.Info;

/// <summary>Encoders for MS-FSCC file, directory and file-system information structures.</summary>
internal static class InfoEncoder
{
    /// <summary>FileBasicInformation (MS-FSCC 2.4.7): 4 times, attributes, reserved = 40 bytes.</summary>
    public static void Basic(ResponseBuffer o, VfsFileInfo i)
    {
        o.I64(i.CreationTime);
        o.I64(i.LastAccessTime);
        o.I64(i.LastWriteTime);
        o.I64(i.ChangeTime);
        o.U32(HandlerUtil.WireAttributes(i));
        o.U32(0);
    }

    /// <summary>FileStandardInformation (2.4.41): 24 bytes.</summary>
    public static void Standard(ResponseBuffer o, VfsFileInfo i, bool deletePending)
    {
        o.I64(i.IsDirectory ? 0 : i.AllocationSize);
        o.I64(i.IsDirectory ? 0 : i.EndOfFile);
        o.U32(Math.Max(i.NumberOfLinks, 1u));
        o.U8(deletePending ? (byte)1 : (byte)0);
        o.U8(i.IsDirectory ? (byte)1 : (byte)0);
        o.U16(0);
    }

    /// <summary>FileNetworkOpenInformation (2.4.29): 56 bytes.</summary>
    public static void NetworkOpen(ResponseBuffer o, VfsFileInfo i)
    {
        o.I64(i.CreationTime);
        o.I64(i.LastAccessTime);
        o.I64(i.LastWriteTime);
        o.I64(i.ChangeTime);
        o.I64(i.IsDirectory ? 0 : i.AllocationSize);
        o.I64(i.IsDirectory ? 0 : i.EndOfFile);
        o.U32(HandlerUtil.WireAttributes(i));
        o.U32(0);
    }

    /// <summary>The fixed size of a directory entry class before its name; 0 for an unsupported class.</summary>
    public static int DirectoryEntryFixedSize(FileInfoClass c) => c switch
    {
        FileInfoClass.Directory => 64,
        FileInfoClass.FullDirectory => 68,
        FileInfoClass.BothDirectory => 94,
        FileInfoClass.Names => 12,
        FileInfoClass.IdBothDirectory => 104,
        FileInfoClass.IdFullDirectory => 80,
        _ => 0,
    };

    /// <summary>Writes one directory entry (NextEntryOffset left 0 for the caller to link).</summary>
    public static void DirectoryEntry(ResponseBuffer o, FileInfoClass c, string name, VfsFileInfo i)
    {
        var nameBytes = Encoding.Unicode.GetByteCount(name);
        o.U32(0);          // NextEntryOffset
        o.U32(0);          // FileIndex
        if (c == FileInfoClass.Names)
        {
            o.U32((uint)nameBytes);
            o.Utf16(name);
            return;
        }
        o.I64(i.CreationTime);
        o.I64(i.LastAccessTime);
        o.I64(i.LastWriteTime);
        o.I64(i.ChangeTime);
        o.I64(i.IsDirectory ? 0 : i.EndOfFile);
        o.I64(i.IsDirectory ? 0 : i.AllocationSize);
        o.U32(HandlerUtil.WireAttributes(i));
        o.U32((uint)nameBytes);
        switch (c)
        {
            case FileInfoClass.Directory:
                break;
            case FileInfoClass.FullDirectory:
                o.U32(0); // EaSize
                break;
            case FileInfoClass.IdFullDirectory:
                o.U32(0);
                o.U32(0);
                o.U64(i.FileId);
                break;
            case FileInfoClass.BothDirectory:
            case FileInfoClass.IdBothDirectory:
                o.U32(0);      // EaSize
                o.U8(0);       // ShortNameLength: no 8.3 names are generated
                o.U8(0);
                o.Reserve(24); // ShortName
                if (c == FileInfoClass.IdBothDirectory)
                {
                    o.U16(0);
                    o.U64(i.FileId);
                }
                break;
        }
        o.Utf16(name);
    }

    public static long FileIdOf(VfsFileInfo i) => (long)i.FileId;
}
