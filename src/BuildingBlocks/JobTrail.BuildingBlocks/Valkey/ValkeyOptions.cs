using System.ComponentModel.DataAnnotations;

namespace JobTrail.BuildingBlocks.Valkey;

/// <summary><c>JobTrail:Valkey</c>: the StackExchange.Redis configuration string (host:port[,password=…]); bound and validated at start-up.</summary>
public sealed class ValkeyOptions
{
    public const string Section = "JobTrail";

    [Required(AllowEmptyStrings = false, ErrorMessage = "JobTrail__Valkey is not set: set it to host:port (scripts/run.sh does this).")]
    public string? Valkey { get; set; }
}
