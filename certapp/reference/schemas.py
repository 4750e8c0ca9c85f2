from marshmallow import Schema, ValidationError, fields, validates_schema

from certapp.common.money import format_rub
from certapp.common.schemas import MunicipalityOktmo, Rubles


class DirectionSchema(Schema):
    code = fields.String()
    name = fields.String()
    service_code = fields.String()


class PeriodSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    municipality = MunicipalityOktmo(dump_only=True, metadata={"description": "ОКТМО of the municipality whose period it is"})
    #: kopecks on output
    nominal = fields.Integer(dump_only=True)
    nominal_display = fields.Function(lambda p: format_rub(p.nominal), dump_only=True)
    #: rubles on input, e.g. "15000.00"
    nominal_rub = Rubles(load_only=True, required=True, data_key="nominal_rub")

    @validates_schema
    def dates_ordered(self, data, **kwargs):
        if "starts_on" in data and "ends_on" in data and data["ends_on"] <= data["starts_on"]:
            raise ValidationError("Дата окончания должна быть позже даты начала.", "ends_on")


class PeriodUpdateSchema(PeriodSchema):
    class Meta:
        exclude = ("code",)


class MunicipalitySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    oktmo = fields.String(metadata={"description": "ОКТМО"})
    authority = fields.String(allow_none=True, metadata={"description": "the authorised body"})
    order_number = fields.String(allow_none=True)
    order_date = fields.Date(allow_none=True)
    extra_exclusions = fields.List(fields.String(), allow_none=True,
                                   metadata={"description": "what the municipality's own order adds to the exclusions"})


class MunicipalityUpdateSchema(Schema):
    authority = fields.String(required=True)
    order_number = fields.String(required=True)
    order_date = fields.Date(required=True)
    extra_exclusions = fields.List(fields.String(), load_default=list)


class ServiceCodeSchema(Schema):
    registry_number = fields.String()
    direction = fields.String(attribute="direction.code")
    direction_name = fields.String(attribute="direction.name")
    adapted = fields.Boolean(metadata={"description": "адаптированная программа для обучающихся с ОВЗ и детей-инвалидов"})
    name = fields.String()


class ServiceCodesUpdateSchema(Schema):
    codes = fields.List(fields.String(), required=True, metadata={
        "description": "the registry numbers the municipality's order finances (at least one, at most 100); "
                       "fullwidth or Arabic-Indic digits are digits"})
