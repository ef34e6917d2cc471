namespace CaStorage.Core;

/// <summary>MS-SMB2 2.2.13.1 / MS-DTYP 2.4.3 access mask.</summary>
[Flags]
public enum AccessMask : uint
{
    None = 0,
    FileReadData = 0x1,          // also FILE_LIST_DIRECTORY
    FileWriteData = 0x2,         // also FILE_ADD_FILE
    FileAppendData = 0x4,        // also FILE_ADD_SUBDIRECTORY
    FileReadEa = 0x8,
    FileWriteEa = 0x10,
    FileExecute = 0x20,          // also FILE_TRAVERSE
    FileDeleteChild = 0x40,
    FileReadAttributes = 0x80,
    FileWriteAttributes = 0x100,
    Delete = 0x10000,
    ReadControl = 0x20000,
    WriteDac = 0x40000,
    WriteOwner = 0x80000,
    Synchronize = 0x100000,
    AccessSystemSecurity = 0x1000000,
    MaximumAllowed = 0x2000000,
    GenericAll = 0x10000000,
    GenericExecute = 0x20000000,
    GenericWrite = 0x40000000,
    GenericRead = 0x80000000,

    FileAllAccess = 0x1F01FF,
    FileGenericRead = 0x120089,
    FileGenericWrite = 0x120116,
    FileGenericExecute = 0x1200A0,
    /// <summary>Bits a create request may ask for (others are invalid).</summary>
    ValidCreateMask = 0xF21F01FF,
}

public static class AccessMaskExtensions
{
    /// <summary>Maps GENERIC_* bits to file-specific rights (MS-SMB2 3.3.5.9 / MS-FSA).</summary>
    public static AccessMask MapGeneric(this AccessMask mask)
    {
        var result = mask & ~(AccessMask.GenericAll | AccessMask.GenericRead | AccessMask.GenericWrite | AccessMask.GenericExecute);
        if (mask.HasFlag(AccessMask.GenericRead)) result |= AccessMask.FileGenericRead;
        if (mask.HasFlag(AccessMask.GenericWrite)) result |= AccessMask.FileGenericWrite;
        if (mask.HasFlag(AccessMask.GenericExecute)) result |= AccessMask.FileGenericExecute;
        if (mask.HasFlag(AccessMask.GenericAll)) result |= AccessMask.FileAllAccess;
        return result;
    }

    public static bool WantsData(this AccessMask mask) =>
        (mask & (AccessMask.FileReadData | AccessMask.FileWriteData | AccessMask.FileAppendData | AccessMask.FileExecute | AccessMask.Delete)) != 0;

    public static bool Writes(this AccessMask mask) =>
        (mask & (AccessMask.FileWriteData | AccessMask.FileAppendData | AccessMask.FileWriteAttributes | AccessMask.FileWriteEa
                 | AccessMask.Delete | AccessMask.WriteDac | AccessMask.WriteOwner | AccessMask.FileDeleteChild)) != 0;
}
