"""Arguments that several commands share: how a light-curve table file names its columns."""


def mapping(text, what):
    """``"object_id=ID,time=mjd"`` -> ``{"object_id": "ID", "time": "mjd"}``."""
    out = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        if "=" not in part:
            raise ValueError(f"{what} entry {part!r} must look like name=column")
        k, v = (s.strip() for s in part.split("=", 1))
        out[k] = v
    return out


def add_table_options(parser):
    parser.add_argument("--columns", metavar="MAP",
                        help="a table file's column names, e.g. object_id=oid,time=mjd,mag=magpsf,mag_err=sigmapsf "
                             "(names: object_id, band, time, mag, mag_err, flux, flux_err; default: those names; "
                             "a table without object_id is one curve named after the file)")
    parser.add_argument("--zero-point", type=float, metavar="MAG",
                        help="for FITS/ECSV/VOTable fluxes not in Jy-like units: the magnitude of a unit flux "
                             "(e.g. 20.44 for TESS electron/s; Jy-like fluxes become AB magnitudes)")


def table_options(args):
    """``read_light_curves_input`` keywords from ``--columns`` / ``--zero-point``."""
    return {"columns": mapping(args.columns, "--columns"), "zero_point": args.zero_point}
