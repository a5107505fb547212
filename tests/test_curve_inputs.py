"""The inputs astronomers hold: astropy tables and TimeSeries, lightkurve LightCurves, one
curve without ids, ``columns=`` mappings, fluxes (astromer.data.curve_inputs)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import astromer
from astromer.data.light_curves import prepare_light_curves
from conftest import run_cli as _cli

u = pytest.importorskip("astropy.units", reason="astropy is the 'astro' extra: pip install -e '.[astro]'")
from astropy.table import QTable, Table  # noqa: E402
from astropy.time import Time  # noqa: E402
from astropy.timeseries import TimeSeries  # noqa: E402

TESS_ZP = 20.44


@pytest.fixture(scope="module")
def model():
    return astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=32)


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 50, 45)) + 2_459_000.5          # JD scale: float64 must survive
    mag = 15 + 0.3 * np.sin(t) + rng.normal(0, 0.01, t.size)
    return t, mag, np.full(t.size, 0.02)


@pytest.fixture(scope="module")
def reference(model, curve):
    t, mag, err = curve
    return model.embed(pd.DataFrame({"object_id": "a", "time": t, "mag": mag, "mag_err": err}), verbose=0).pooled


def _flux(mag, err, zp=TESS_ZP):
    flux = 10 ** (-0.4 * (mag - zp))
    return flux, err * flux / (2.5 / np.log(10))


def test_astropy_table_with_units_and_a_column_mapping_embeds_like_pandas(model, curve, reference):
    t, mag, err = curve
    table = Table({"jd": t * u.day, "m": mag * u.mag, "e": err * u.mag})
    got = model.embed(table, columns={"time": "jd", "mag": "m", "mag_err": "e"}, verbose=0).pooled
    np.testing.assert_allclose(got, reference, atol=1e-6)
    seconds = QTable({"time": (t - t[0]) * 86400 * u.s, "mag": mag * u.ABmag, "mag_err": err * u.mag})
    np.testing.assert_allclose(model.embed(seconds, verbose=0).pooled, reference, atol=1e-5)   # seconds -> days


def test_timeseries_with_a_time_column_embeds_like_pandas(model, curve, reference):
    t, mag, err = curve
    series = TimeSeries(time=Time(t, format="jd", scale="tdb"), data={"mag": mag, "mag_err": err})
    prepared = prepare_light_curves(series)
    np.testing.assert_allclose(prepared.curves[0][:, 0], t - 2_400_000.5, rtol=0, atol=1e-9)   # MJD, float64
    np.testing.assert_allclose(model.embed(series, verbose=0).pooled, reference, atol=1e-6)


def test_lightkurve_fluxes_need_a_zero_point_and_then_embed_like_the_magnitudes(model, curve, reference):
    lk = pytest.importorskip("lightkurve", reason="lightkurve is the 'astro' extra")
    t, mag, err = curve
    flux, flux_err = _flux(mag, err)
    lc = lk.LightCurve(time=Time(t, format="jd"), flux=flux * u.electron / u.s, flux_err=flux_err * u.electron / u.s)
    with pytest.raises(ValueError, match=r"^the LightCurve holds fluxes \('flux' in electron / s\), not magnitudes; "
                                         r"pass zero_point="):
        model.embed(lc, verbose=0)
    got = model.embed(lc, zero_point=TESS_ZP, verbose=0)
    assert got.ids == [0]
    np.testing.assert_allclose(got.pooled, reference, atol=1e-6)
    prepared = prepare_light_curves(lc, zero_point=TESS_ZP)
    np.testing.assert_allclose(prepared.curves[0][:, 1], mag, atol=1e-9)     # m = zp - 2.5 log10(F)
    np.testing.assert_allclose(prepared.curves[0][:, 2], err, atol=1e-9)     # 1.0857 F_err / F
    two = model.embed([lc, lc], ids=["TIC 1", "TIC 2"], zero_point=TESS_ZP, verbose=0)
    assert two.ids == ["TIC 1", "TIC 2"]
    np.testing.assert_allclose(two.pooled, np.repeat(reference, 2, axis=0), atol=1e-6)


def test_spectral_flux_densities_become_ab_magnitudes_and_bad_fluxes_are_counted():
    t = np.arange(6, dtype=float)
    flux = np.array([3631.0, 363.1, 0.0, -1.0, np.nan, 36.31]) * u.Jy
    table = Table({"time": t, "flux": flux, "flux_err": 0.01 * np.abs(flux)})
    with pytest.warns(UserWarning, match=r"nonpositive_flux"):
        prepared = prepare_light_curves(table)
    np.testing.assert_allclose(prepared.curves[0][:, 1], [0.0, 2.5, 5.0], atol=1e-12)   # AB: 3631 Jy is mag 0
    np.testing.assert_allclose(prepared.curves[0][:, 2], 2.5 / np.log(10) * 0.01, atol=1e-9)
    assert prepared.report.rows["nonpositive_flux"] == 3
    from astromer.data.curve_inputs import astro_table_frame

    with pytest.warns(UserWarning, match=r"3 rows with a flux <= 0 or NaN dropped \(nonpositive_flux"):
        assert len(astro_table_frame(table)) == 3          # without a report to count in, it warns
    mjy = Table({"time": t[:2], "mag": [3631e3, 363.1e3] * u.mJy})   # a 'mag' column holding fluxes is a flux
    np.testing.assert_allclose(prepare_light_curves(mjy, warn=False).curves[0][:, 1], [0.0, 2.5], atol=1e-12)


def test_one_curve_without_ids_a_single_array_and_a_list_of_tables(model, curve, reference):
    t, mag, err = curve
    frame = pd.DataFrame({"time": t, "mag": mag, "mag_err": err})
    one = model.embed(frame, verbose=0)
    assert one.ids == [0]
    np.testing.assert_allclose(one.pooled, reference, atol=1e-6)
    assert model.embed(frame, ids=["star"], verbose=0).ids == ["star"]
    np.testing.assert_allclose(model.embed(np.c_[t, mag, err], verbose=0).pooled, reference, atol=1e-6)
    listed = model.embed([frame, Table.from_pandas(frame)], ids=["p", "q"], verbose=0)
    assert listed.ids == ["p", "q"]
    np.testing.assert_allclose(listed.pooled, np.repeat(reference, 2, axis=0), atol=1e-6)


def test_column_mappings_and_their_errors_name_the_columns(model, curve, reference):
    t, mag, err = curve
    ztf = pd.DataFrame({"oid": "a", "mjd": t, "magpsf": mag, "sigmapsf": err, "time": 0.0})
    mapping = {"object_id": "oid", "time": "mjd", "mag": "magpsf", "mag_err": "sigmapsf"}
    np.testing.assert_allclose(model.embed(ztf, columns=mapping, verbose=0).pooled, reference, atol=1e-6)
    with pytest.raises(ValueError, match=r"^columns= maps unknown name\(s\) \['magnitude'\]"):
        model.embed(ztf, columns={"magnitude": "magpsf"}, verbose=0)
    with pytest.raises(ValueError, match=r"^columns= names column\(s\) \['jd'\] that the DataFrame does not have"):
        model.embed(ztf, columns={"time": "jd"}, verbose=0)
    with pytest.raises(ValueError, match=r"time column 'mag' is in mag, not a time unit"):
        prepare_light_curves(Table({"mag": mag * u.mag}), columns={"time": "mag"})
    with pytest.raises(ValueError, match=r"has neither a magnitude column 'mag' nor a flux column 'flux'"):
        prepare_light_curves(Table({"time": t, "brightness": mag}))


def test_the_scikit_learn_embedder_takes_the_same_inputs(model, curve, reference):
    t, mag, err = curve
    ztf = pd.DataFrame({"oid": ["a"] * t.size, "mjd": t, "magpsf": mag, "sigmapsf": err})
    embedder = astromer.AstromerEmbedder(preset=model, columns={"object_id": "oid", "time": "mjd", "mag": "magpsf",
                                                                "mag_err": "sigmapsf"})
    assert clone(embedder).get_params()["columns"] == embedder.columns
    np.testing.assert_allclose(embedder.fit_transform(ztf), reference, atol=1e-6)


def test_the_readme_catalogue_join_gives_one_row_per_object(model, curve):
    t, mag, err = curve
    survey = pd.concat([pd.DataFrame({"object_id": o, "band": b, "time": t, "mag": mag + k, "mag_err": err})
                        for k, (o, b) in enumerate([("s1", "B"), ("s1", "R"), ("s2", "R")])])
    catalogue = pd.DataFrame({"object_id": ["s2", "s1", "s3"], "ra": [1.0, 2.0, 3.0]})
    ids, vectors = model.embed(survey, verbose=0).object_vectors()
    joined = catalogue.join(pd.DataFrame(vectors, index=pd.Index(ids, name="object_id")).add_prefix("emb_"),
                            on="object_id")
    assert ids == ["s1", "s2"] and vectors.shape == (2, 2 * model.width)
    assert joined.shape == (3, 2 + 2 * model.width) and joined.iloc[2, 2:].isna().all()   # s3: no curve
    assert (joined.iloc[0, 2:2 + model.width] == 0).all()          # s2 has no B band: zeros there


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def test_the_cli_reads_fits_fluxes_and_renamed_csv_columns(curve, reference, saved_model, tmp_path):
    t, mag, err = curve
    flux, flux_err = _flux(mag, err)
    from astropy.io import fits as pyfits

    fits = tmp_path / "tic_261136679.fits"    # a TESS SPOC light-curve table: its TUNIT strings too
    pyfits.BinTableHDU.from_columns([
        pyfits.Column(name="TIME", format="D", unit="BJD - 2457000, days", array=t - 2_457_000),
        pyfits.Column(name="PDCSAP_FLUX", format="D", unit="e-/s", array=flux),
        pyfits.Column(name="PDCSAP_FLUX_ERR", format="D", unit="e-/s", array=flux_err)]).writeto(fits)
    mapping = "time=TIME,flux=PDCSAP_FLUX,flux_err=PDCSAP_FLUX_ERR"
    code, out, err_text = _cli("embed", fits, "-o", tmp_path / "e.parquet", "--model", saved_model, "--columns",
                               mapping, "--zero-point", TESS_ZP, "-q")
    assert code == 0, err_text
    table = pd.read_parquet(tmp_path / "e.parquet")
    assert table["object_id"].tolist() == ["tic_261136679"] and table["n_obs"].tolist() == [t.size]
    np.testing.assert_allclose(table.filter(like="emb_").to_numpy(), reference, atol=1e-6)
    code, _, err_text = _cli("embed", fits, "-o", tmp_path / "f.parquet", "--model", saved_model, "--columns", mapping)
    assert code == 2 and err_text.count("\n") == 1
    assert "holds fluxes ('PDCSAP_FLUX' in e-/s), not magnitudes; pass zero_point=" in err_text

    csv = tmp_path / "alerts.csv"
    pd.DataFrame({"oid": ["ZTF1"] * t.size, "mjd": t, "magpsf": mag, "sigmapsf": err}).to_csv(csv, index=False)
    code, _, err_text = _cli("embed", csv, "-o", tmp_path / "g.parquet", "--model", saved_model, "--columns",
                             "object_id=oid,time=mjd,mag=magpsf,mag_err=sigmapsf", "-q")
    assert code == 0, err_text
    got = pd.read_parquet(tmp_path / "g.parquet")
    assert got["object_id"].tolist() == ["ZTF1"]
    np.testing.assert_allclose(got.filter(like="emb_").to_numpy(), reference, atol=1e-6)


def test_a_damaged_fits_file_is_a_one_line_error(saved_model, tmp_path):
    bad = tmp_path / "broken.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\x00" * 100)
    code, _, err_text = _cli("embed", bad, "-o", tmp_path / "e.parquet", "--model", saved_model)
    assert code == 2 and err_text.count("\n") == 1 and "Traceback" not in err_text
    assert f"cannot read light-curve table {str(bad)!r} with astropy" in err_text
