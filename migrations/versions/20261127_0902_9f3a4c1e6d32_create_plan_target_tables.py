"""Create the tables of the plan's yearly targets and monthly figures.

Revision ID: 9f3a4c1e6d32
Revises: 8e2f3b0d5c21
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = "9f3a4c1e6d32"
down_revision = "8e2f3b0d5c21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_monthly_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_plan_monthly_figures_month_range")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_plan_monthly_figures_value_non_negative")),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_plan_monthly_figures_year_range")),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_plan_monthly_figures_entered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["library_id"], ["sites.id"], name=op.f("fk_plan_monthly_figures_library_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_monthly_figures")),
        sa.UniqueConstraint(
            "library_id",
            "year",
            "month",
            "indicator",
            name=op.f("uq_plan_monthly_figures_library_id_year_month_indicator"),
        ),
    )
    with op.batch_alter_table("plan_monthly_figures", schema=None) as batch_op:
        batch_op.create_index("ix_plan_monthly_figures_year_indicator", ["year", "indicator"], unique=False)

    op.create_table(
        "plan_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("value >= 0", name=op.f("ck_plan_targets_value_non_negative")),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_plan_targets_year_range")),
        sa.ForeignKeyConstraint(["library_id"], ["sites.id"], name=op.f("fk_plan_targets_library_id_sites")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_plan_targets_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_targets")),
        sa.UniqueConstraint(
            "library_id", "year", "indicator", name=op.f("uq_plan_targets_library_id_year_indicator")
        ),
    )
    with op.batch_alter_table("plan_targets", schema=None) as batch_op:
        batch_op.create_index("ix_plan_targets_year", ["year"], unique=False)
        batch_op.create_index(
            "uq_plan_targets_province_year_indicator",
            ["year", "indicator"],
            unique=True,
            sqlite_where=sa.text("library_id IS NULL"),
            postgresql_where=sa.text("library_id IS NULL"),
        )


    # The computed indicators count copies and records by month: index range counts, not table scans
    # (declared in catalog/models.py on Item and Record).
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_library_created_at", ["library_id", "created_at"], unique=False)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_created_at", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_created_at")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_library_created_at")
    with op.batch_alter_table("plan_targets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_plan_targets_province_year_indicator",
            sqlite_where=sa.text("library_id IS NULL"),
            postgresql_where=sa.text("library_id IS NULL"),
        )
        batch_op.drop_index("ix_plan_targets_year")
    op.drop_table("plan_targets")
    with op.batch_alter_table("plan_monthly_figures", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_monthly_figures_year_indicator")
    op.drop_table("plan_monthly_figures")
