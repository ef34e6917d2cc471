namespace CaStorage.Smb.Protocol.Info;

/// <summary>MS-FSCC 2.4 file information classes used over SMB2.</summary>
internal enum FileInfoClass : byte
{
    Directory = 1,
    FullDirectory = 2,
    BothDirectory = 3,
    Basic = 4,
    Standard = 5,
    Internal = 6,
    Ea = 7,
    Access = 8,
    Name = 9,
    Rename = 10,
    Link = 11,
    Names = 12,
    Disposition = 13,
    Position = 14,
    FullEa = 15,
    Mode = 16,
    Alignment = 17,
    All = 18,
    Allocation = 19,
    EndOfFile = 20,
    AlternateName = 21,
    Stream = 22,
    Pipe = 23,
    Compression = 28,
    NetworkOpen = 34,
    AttributeTag = 35,
    IdBothDirectory = 37,
    IdFullDirectory = 38,
    ValidDataLength = 39,
    ShortName = 40,
    NormalizedName = 48,
    Id = 59,
    IdExtdDirectory = 60,
    DispositionEx = 64,
    RenameEx = 65,
}

/// <summary>MS-FSCC 2.5 file system information classes.</summary>
internal enum FsInfoClass : byte
{
    Volume = 1,
    Label = 2,
    Size = 3,
    Device = 4,
    Attribute = 5,
    Control = 6,
    FullSize = 7,
    ObjectId = 8,
    DriverPath = 9,
    VolumeFlags = 10,
    SectorSize = 11,
}
