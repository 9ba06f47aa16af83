"""django-storages' S3Storage with the current municipality's key prefix after AWS_LOCATION (common/storage.py says
why); settings.STORAGES names it when STORAGE_BACKEND=s3 (this module needs boto3: django-storages[s3])."""

from storages.backends.s3 import S3Storage

from common import municipality


class MunicipalS3Storage(S3Storage):
    """Keys under AWS_LOCATION/municipalities/<slug>/ for every municipality but the first (AWS_LOCATION itself)."""

    @property
    def location(self):
        prefix = municipality.own_folder()
        return "/".join(part for part in (self.__dict__.get("_base_location", "").strip("/"), prefix) if part)

    @location.setter
    def location(self, value):
        self.__dict__["_base_location"] = value or ""
