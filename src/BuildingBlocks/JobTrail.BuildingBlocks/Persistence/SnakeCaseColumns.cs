using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// Every JobTrail column is its property's name in snake_case (<c>CreatedAt</c> is <c>created_at</c>), so a
/// DbContext states only what differs: tables, keys, column types, conversions.
/// </summary>
public static class SnakeCaseColumns
{
    public static ModelConfigurationBuilder UseSnakeCaseColumns(this ModelConfigurationBuilder configuration)
    {
        configuration.Conventions.Add(_ => new Convention());
        return configuration;
    }

    public static string Of(string propertyName)
    {
        var name = new StringBuilder(propertyName.Length + 8);
        for (var i = 0; i < propertyName.Length; i++)
        {
            var c = propertyName[i];
            if (char.IsUpper(c) && i > 0)
            {
                name.Append('_');
            }

            name.Append(char.ToLowerInvariant(c));
        }

        return name.ToString();
    }

    // At the end of model building, so an explicit HasColumnName (a higher configuration source) still wins.
    private sealed class Convention : IModelFinalizingConvention
    {
        public void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
        {
            foreach (var property in modelBuilder.Metadata.GetEntityTypes().SelectMany(e => e.GetDeclaredProperties()))
            {
                property.Builder.HasColumnName(Of(property.Name));
            }
        }
    }
}
