using JobTrail.BuildingBlocks.Json;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>Stores enums as the same UPPER_SNAKE text the API speaks (<see cref="EnumText"/>).</summary>
public sealed class UpperSnakeCaseEnumConverter<TEnum>() : ValueConverter<TEnum, string>(
    v => EnumText.Spell(v),
    v => EnumText.Parse<TEnum>(v))
    where TEnum : struct, Enum;
